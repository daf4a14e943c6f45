package tixngo

import (
	"context"
	"log/slog"
	"strings"

	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/tixngo/tixngoapi"
)

// InjectConfig is the configuration of tixngo.inject.
type InjectConfig struct {
	Conn `yaml:",inline"`
	// Path of the injection call relative to the API base (default
	// "organizer/tickets", DOC).
	Path string `yaml:"path"`
	// BatchSize is the most tickets per call (default 1000).
	BatchSize int `yaml:"batch_size"`
	// Simulation builds and checks every payload but sends nothing.
	Simulation bool `yaml:"simulation"`
	// Fields maps ticket JSON paths to record fields, over the defaults.
	Fields map[string]string `yaml:"fields"`
	// Constants are JSON values used when the mapped field is null.
	Constants map[string]any `yaml:"constants"`
	// IterationSize splits each batch into calls of at most this many
	// tickets (0, the default: one call per batch).
	IterationSize int `yaml:"iteration_size"`
	// SkipIDs are tickets never sent ("id:<ticket id>" or a tax number).
	SkipIDs []string `yaml:"skip_ids"`
	// BarcodePrefix and BarcodeSuffix are put around every barcode sent.
	BarcodePrefix string `yaml:"barcode_prefix"`
	BarcodeSuffix string `yaml:"barcode_suffix"`
	// MandatoryHolderFields lists holder data a ticket needs to be sent
	// (FIRSTNAME, LASTNAME, BIRTHDATE, ID_NUMBER, COUNTRY_CODE,
	// BIRTH_REGION, BIRTH_PLACE).
	MandatoryHolderFields []string `yaml:"mandatory_holder_fields"`
}

// injectDefaults maps the documented ticket fields (ticketing-apis.md §1.3;
// JSON leaf names of spectator, purchase, security and seating data are
// GUESSED) to record fields.
var injectDefaults = [][2]string{
	{"ticketId", "ticket_id"},
	{"event.id", "event_id"},
	{"event.name", "event_name"},
	{"event.startTime", "event_start"},
	{"event.expirationDate", "event_expiration"},
	{"event.imageUrl", "event_image_url"},
	{"event.website", "event_website"},
	{"event.address.site", "venue"},
	{"event.address.city", "city"},
	{"event.address.countryCode", "country_code"},
	{"event.address.zip", "zip"},
	{"security.barcode", "barcode"},
	{"spectatorDetails.gender", "gender"},
	{"spectatorDetails.firstName", "first_name"},
	{"spectatorDetails.lastName", "last_name"},
	{"spectatorDetails.email", "email"},
	{"spectatorDetails.mainApplicant", "main_applicant"},
	{"purchaseDetails.price", "price"},
	{"purchaseDetails.currency", "currency"},
	{"purchaseDetails.category", "category"},
	{"purchaseDetails.taxNumber", "tax_number"},
	{"purchaseDetails.fileId", "file_id"},
	{"purchaseDetails.sortingKey", "sorting_key"},
	{"purchaseDetails.productId", "product_id"},
	{"purchaseDetails.tariffId", "tariff_id"},
	{"seating.seated", "seated"},
	{"seating.numbered", "numbered"},
	{"seating.externalEntrance", "entrance"},
	{"seating.gate", "gate"},
	{"seating.level", "level"},
	{"seating.area", "area"},
	{"seating.block", "block"},
	{"seating.row", "row"},
	{"seating.seat", "seat"},
	{"activationParameters.method", "activation_method"},
	{"activationParameters.time", "activation_time"},
	{"activationParameters.groupId", "group_id"},
	{"activationParameters.instanceId", "instance_id"},
}

func mappingFields(defaults [][2]string) []sdk.Field {
	pairs := make([]string, len(defaults))
	for i, d := range defaults {
		pairs[i] = d[0] + ": " + d[1]
	}
	return []sdk.Field{
		{Name: "fields", Type: sdk.TypeMap, Elem: sdk.TypeString,
			Description: "Maps JSON paths of the item (dotted, e.g. spectatorDetails.email) to record fields, on top of the defaults (" + strings.Join(pairs, ", ") + "); an empty value removes a default, a new path adds a field.",
			Example:     map[string]any{"security.barcode": "code", "purchaseDetails.fileId": "order_no", "seating.gate": ""}},
		{Name: "constants", Type: sdk.TypeMap, Elem: sdk.TypeAny,
			Description: "JSON values by JSON path, sent when the mapped record field is null or missing (or when no field is mapped).",
			Example:     map[string]any{"purchaseDetails.currency": "EUR", "event.address.countryCode": "DE"}},
	}
}

func injectSpec() sdk.Spec {
	s := sdk.Spec{Fields: connFields()}
	return s.With(append([]sdk.Field{
		{Name: "path", Type: sdk.TypeString, Default: "organizer/tickets",
			Description: "Path of the injection call, relative to the API base.", Example: "organizer/tickets"},
		{Name: "batch_size", Type: sdk.TypeInt, Default: 1000, Min: sdk.Int64(1), Max: sdk.Int64(10000),
			Description: "Most tickets per call; S-360 uses 1000.", Example: 500},
		{Name: "simulation", Type: sdk.TypeBool, Default: false,
			Description: "Build, check and log every call without sending anything (as does --dry-run); rejects are still reported.", Example: true},
	}, append(injectOptionFields(), mappingFields(injectDefaults)...)...)...)
}

const injectDescription = `Injects tickets into TIXnGO (secure mobile ticket delivery): POST {base}/organizer/tickets
with {"tickets":[…]}, which also creates the ticket's event if it does not exist yet.

Each record becomes one ticket. Record fields are mapped to the documented ticket fields by
` + "`fields`" + ` (JSON path → record field); the defaults are ticket_id, event_id, event_name,
event_start, event_expiration, venue, city, country_code, zip, barcode, gender, first_name,
last_name, email, main_applicant, price, currency, category, tax_number, file_id, sorting_key,
product_id, tariff_id, seating (seated, numbered, entrance, gate, level, area, block, row, seat)
and activation (activation_method, activation_time, group_id, instance_id). Documented lengths
and formats (ticketId ≤ 256 of [A-Za-z0-9 *.-_+/()], barcode ≤ 512, firstName ≤ 50, lastName ≤
100, email ≤ 256, gender M/F/U/X, address parts ≤ 200, RFC 3339 dates, …) are checked before
sending: a record that breaks them is rejected with the field and reason and never sent.

Within a batch tickets are sorted by ticket id and sent in calls of batch_size, each split into
sub-calls of iteration_size when set. barcode_prefix/barcode_suffix are put around every barcode;
a ticket without one of the mandatory_holder_fields is rejected and not sent (it is tried again
next run); skip_ids names tickets (id:<ticket id>, or a tax number) that are never sent and count
as handled, so a ledger dedup step records them and a run stops failing on them. Per-ticket
results become record outcomes: ACCEPTED tickets count as written, REJECTED ones are rejects
with TIXnGO's reason. A failed call (server down, retries exhausted, 401) aborts the run (ERROR).

**Never injected twice.** Re-injecting a live ticket only updates it at TIXnGO, but to send
each ticket once put a ` + "`dedup`" + ` step with ` + "`scope: ledger`" + ` keyed by the ticket id before this
sink: the ledger entries are committed only for records this sink accepted and only when the
run commits, so rejected or failed tickets are sent again on the next run and accepted ones
never. Retries within a run re-send the same call with the same idempotency key.

simulation: true (or kontor run --dry-run) sends nothing and logs each call that would be made
plus a summary with counts.`

func newInject(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Sink, error) {
	var c InjectConfig
	if err := decode(cfg, &c); err != nil {
		return nil, err
	}
	s, err := newItemSink(env, c.Conn, c.Path, "tickets", "inject", c.BatchSize, c.Simulation,
		injectDefaults, c.Fields, c.Constants, tixngoapi.TicketRules, tixngoapi.RequiredObjects, "ticketId")
	var m *mapping
	if s != nil {
		m = s.m
	}
	o, es := c.options(m)
	if err != nil {
		fe, _ := sdk.AsFieldErrors(err)
		es = append(fe, es...)
		if len(fe) == 0 {
			return nil, err
		}
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	s.opts = &o
	if c.BarcodePrefix != "" || c.BarcodeSuffix != "" {
		s.m.affix = map[string][2]string{"security.barcode": {c.BarcodePrefix, c.BarcodeSuffix}}
	}
	return s, nil
}

func newItemSink(env sdk.Env, conn Conn, path, bodyKey, verb string, batch int, simulation bool,
	defaults [][2]string, fields map[string]string, constants map[string]any,
	rules []tixngoapi.FieldRule, required []string, idPath string) (*itemSink, error) {
	var es sdk.FieldErrors
	consts, err := constantsOf(constants)
	if err != nil {
		fe, _ := sdk.AsFieldErrors(err)
		es = append(es, fe...)
	}
	m, err := newMapping(defaults, fields, consts, rules, required, idPath)
	if err != nil {
		fe, _ := sdk.AsFieldErrors(err)
		es = append(es, fe...)
	}
	cl, err := conn.client(env)
	if err != nil {
		if fe, ok := sdk.AsFieldErrors(err); ok {
			es = append(es, fe...)
		} else {
			es.Add("", "%v", err)
		}
	}
	if batch <= 0 {
		batch = 1000
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &itemSink{step: env.Step, verb: verb, client: cl, path: path, bodyKey: bodyKey, m: m,
		batchSize: batch, simulate: simulation || env.DryRun, logger: logger}, nil
}
