// Package tixngo hands tickets to TIXnGO (SecuTix's secure mobile ticket
// delivery) and keeps both sides aligned:
//
//   - tixngo.inject: POST {base}/organizer/tickets {"tickets":[…]} — creates
//     the event if missing and injects tickets (the one call whose path is
//     documented publicly);
//   - tixngo.cancel: invalidation, DELETION_PENDING → DELETED;
//   - tixngo.control: push controlled tickets (CONTROLLED);
//   - tixngo.privileges: membership and season cards as digital privileges,
//     creating the privilege definition if missing;
//   - tixngo.status: ticket status, wallet owner and holder, incrementally
//     through the opaque pagination key stored in the pipeline state.
//
// What is public about the API (field names, lengths, required fields,
// statuses, S-360 semantics such as batch sizes, simulation mode, filters
// and the feedback cursor) is summarised in the team's domain notes
// (ticketing-apis.md, sources: confluence.secutix.com TIXNGO pages). The
// organizer API reference itself (developer.tixngo.io) is not public, so
// everything GUESSED there is configurable: every path (`path`), the JSON
// leaf names (`fields`, JSON path → record field), the query parameter
// names of the status feed (`params`), the auth header (`auth`,
// `key_header`). Confirm them with TIXnGO before go-live.
//
// Each sink sorts a batch by id, refuses records that break the documented
// lengths before sending (record.Reject with the field), sends calls of
// batch_size through plugins/sdk/httpclient (exact rate limit, retries with
// Retry-After, one idempotency key per call) and turns the per-item
// results into outcomes: ACCEPTED is written, REJECTED a reject with
// TIXnGO's reason. "Never injected twice" comes from a ledger dedup before
// the sink (see tixngo.inject's description and pipelines/tixngo-inject.yaml).
//
// S-360's injection options: iteration_size (sub-calls within a batch),
// skip_ids (id:<ticket id> or a tax number: never sent, counted as handled),
// barcode_prefix/barcode_suffix and mandatory_holder_fields (FIRSTNAME and
// LASTNAME documented; the other holder fields' JSON names are guessed and
// must be mapped) are options of tixngo.inject. Not implemented, because
// the notes document only their format, not their semantics, or because
// another step owns them: force_ids (re-send despite the processed marker:
// that is the ledger dedup step's business), the product/performance/tariff
// filters and file_number (a filter transform), date_from (the run's
// --since), pos, lifecycle_mode, show_deleted_default and
// override_visibility_reasons (tixngo.cancel/status carry their own), and
// dump_payload_kb (the connection's dump option).
//
// Package tixngosim is a loopback simulator of the API for tests and trials
// (binary: cmd/kontor-tixngo-sim); tixngoapi holds the shared wire model.
package tixngo
