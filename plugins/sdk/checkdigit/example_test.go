package checkdigit_test

import (
	"fmt"

	"github.com/kontor-etl/kontor/plugins/sdk/checkdigit"
)

func ExampleParse() {
	m, _ := checkdigit.Parse(checkdigit.MethodConfig{Method: "mod11", Map10: "X"})
	c, _ := m.Compute("01015500001")
	fmt.Println(m.Name(), c)
	fmt.Println(m.Validate("010155000010"))
	// Output:
	// mod11(2,3,4,5,6,7;10=X;11=0) 0
	// <nil>
}

func ExampleLuhn() {
	c, _ := checkdigit.Luhn().Compute(checkdigit.Strip("070.1172"))
	fmt.Println(c)
	fmt.Println(checkdigit.Luhn().Validate("07011720"))
	// Output:
	// 9
	// check digit mismatch (luhn): got "0", want "9"
}
