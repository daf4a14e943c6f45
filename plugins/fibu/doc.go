// Package fibu holds Kontor's exports and imports for financial accounting (FiBu):
//
//   - fibu.datev_extf (sink) writes DATEV EXTF files, header version 700: Buchungsstapel
//     (category 21, format version 13, 125 columns) and Debitoren/Kreditoren (category 16,
//     version 5, 254 columns) in Windows-1252 with ";", CRLF, decimal comma and every text field
//     in quotes. Each value is checked against DATEV's field rules (lengths, characters, S/H,
//     Umsatz > 0 with at most 10+2 digits, Belegdatum inside the header period, account lengths);
//     a violation rejects the record naming the DATEV column, so the file DATEV imports is always
//     valid. Text is normalised to Unicode NFC before the Windows-1252 check (a decomposed
//     "e"+U+0301 is written as é); invalid UTF-8 and TTMMJJJJ dates outside the years 1 to 9999
//     reject the record. Record fields reach columns through `mapping` (column key, caption or number →
//     field) and `constants`.
//   - fibu.datev_extf_read (source) reads those files; DATEV's official samples round-trip byte
//     for byte through reader and writer (testdata, acceptance tests).
//   - fibu.xml (sink) writes settlement bookings as XML with a configurable element layout
//     (root with namespaces and attributes, one element per record, element paths and @attributes
//     filled from fields or constants, an optional summary element with run date, count and
//     control sums before or after the records). It streams one record element at a time
//     through github.com/beevik/etree.
//
// The column tables (columns_gen.go) are generated from DATEV's official sample files in
// testdata by `go generate ./plugins/fibu` (internal/gencolumns); TestColumnsGenUpToDate fails
// when they are stale. Formats and field rules: shared/domain/fibu-kassenzeichen.md §1
// and https://developer.datev.de/datev/platform/de/dtvf/formate/buchungsstapel.
//
// Performance: the EXTF writer formats rows without allocating (about 1.5 µs and 0 allocations
// per 125-column booking; BenchmarkWriteMillion with KONTOR_BENCH_LARGE=1).
package fibu
