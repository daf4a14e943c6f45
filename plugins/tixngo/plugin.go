package tixngo

import (
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Plugin returns the tixngo plugin: tixngo.inject, tixngo.cancel,
// tixngo.control, tixngo.privileges (sinks) and tixngo.status (source).
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "tixngo",
		Version:     "0.1.0",
		Description: "Hands tickets to TIXnGO secure mobile ticket delivery and keeps both sides aligned.",
		Components: []sdk.Component{
			{Name: "inject", Kind: sdk.KindSink, IO: sdk.IONone,
				Summary:     "Injects tickets into TIXnGO (creating their event if missing), one call per batch.",
				Description: injectDescription, Spec: injectSpec(), NewSink: newInject,
				Examples: []string{injectExample}},
			{Name: "cancel", Kind: sdk.KindSink, IO: sdk.IONone,
				Summary:     "Invalidates tickets at TIXnGO (DELETION_PENDING, then DELETED).",
				Description: "Pushes cancelled or invalidated tickets: POST {base}/organizer/tickets/delete with {\"tickets\":[{\"ticketId\",\"deletionReason\",\"showDeletedTicket\"}]} (path GUESSED, configurable). TIXnGO moves them to DELETION_PENDING and, once deleted everywhere, to DELETED. Per-ticket results become record outcomes as for tixngo.inject; put a ledger dedup keyed by ticket id and reason before it so a ticket is pushed again only when its invalidation reason changes.",
				Spec:        cancelSpec(), NewSink: newCancel,
				Examples: []string{cancelExample}},
			{Name: "control", Kind: sdk.KindSink, IO: sdk.IONone,
				Summary:     "Marks tickets as CONTROLLED (used at entry) at TIXnGO.",
				Description: "Pushes controlled tickets: POST {base}/organizer/tickets/control with {\"tickets\":[{\"ticketId\",\"controlTime\"}]} (path GUESSED, configurable); controlTime defaults to the run start. A controlled ticket can no longer be transferred. Batches of up to 10000 as S-360 does.",
				Spec:        controlSpec(), NewSink: newControl,
				Examples: []string{controlExample}},
			{Name: "privileges", Kind: sdk.KindSink, IO: sdk.IONone,
				Summary:     "Injects membership and season cards as TIXnGO digital privileges, creating the privilege definition if missing.",
				Description: "Creates the configured privilege definition if it does not exist (GET then POST {base}/organizer/privileges/definitions) and injects one privilege instance per record (POST {base}/organizer/privileges with {\"privileges\":[…]}); all paths are GUESSED and configurable. Results become record outcomes as for tixngo.inject.",
				Spec:        privilegesSpec(), NewSink: newPrivileges,
				Examples: []string{privilegesExample}},
			{Name: "status", Kind: sdk.KindSource, IO: sdk.IONone,
				Summary:     "Reads ticket status, wallet owner and holder from TIXnGO, only what changed since the last run.",
				Description: "Retrieves ticket status feedback page by page (GET {base}/organizer/tickets?paginationKey=…&limit=…). The opaque pagination key is stored in the pipeline state and committed with the run, so each run fetches only what changed since the last committed run; a failed run leaves the key unchanged. Filters product, performance, tariff and category are ANDed; file_number excludes them. date_from re-reads from a date without touching the stored key; without a stored key an incremental run starts at the pipeline's watermark (Env.Since). Records: " + statusSchema.String() + ".",
				Spec:        statusSpec(), NewSource: newStatus,
				Examples: []string{statusExample},
				Schema:   func(sdk.Config) (*record.Schema, error) { return statusSchema, nil }},
		},
	}
}

const injectExample = `sinks:
  - type: tixngo.inject
    api_url: https://pp5-api.tixngo.io/v3/organizer/tickets
    username: admin@theater.example
    api_key: ${env:TIXNGO_API_KEY}
    batch_size: 1000
    rate_limit: 50
    constants:
      purchaseDetails.currency: EUR
      event.address.countryCode: DE`

const cancelExample = `sinks:
  - type: tixngo.cancel
    when: status == "storniert"
    api_url: https://pp5-api.tixngo.io/v3/organizer/tickets
    username: admin@theater.example
    api_key: ${env:TIXNGO_API_KEY}
    reason: CANCELLED
    fields:
      ticketId: ticket_nr`

const controlExample = `sinks:
  - type: tixngo.control
    api_url: https://pp5-api.tixngo.io/v3/organizer/tickets
    username: admin@theater.example
    api_key: ${env:TIXNGO_API_KEY}
    fields:
      ticketId: ticket_nr
      controlTime: scanned_at`

const privilegesExample = `sinks:
  - type: tixngo.privileges
    api_url: https://pp5-api.tixngo.io/v3/organizer/tickets
    username: admin@theater.example
    api_key: ${env:TIXNGO_API_KEY}
    definition:
      id: ABO-2026
      name: Theaterabo 2026/27
    fields:
      privilegeId: abo_nr
      holder.lastName: name`

const statusExample = `source:
  type: tixngo.status
  api_url: https://pp5-api.tixngo.io/v3/organizer/tickets
  username: admin@theater.example
  api_key: ${env:TIXNGO_API_KEY}
  performance: EV-2026-10-03
  limit: 1000`
