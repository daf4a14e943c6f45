package calendar_test

import (
	"fmt"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk/calendar"
)

func Example() {
	thu := record.NewDate(2026, time.April, 2) // before Easter 2026
	fmt.Println(calendar.IsTargetDay(thu))
	fmt.Println(calendar.TargetClosingReason(thu.AddDays(1)))
	fmt.Println(calendar.AddTargetDays(thu, 1))
	holiday, _ := calendar.IsGermanHoliday(record.NewDate(2026, time.June, 4), "NW")
	fmt.Println(holiday)
	// Output:
	// true
	// Good Friday
	// 2026-04-07
	// true
}
