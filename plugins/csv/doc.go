// Package csv is Kontor's built-in plugin for delimited text: csv.read
// (a file source) and csv.write (a file sink).
//
// # Format
//
// The reader accepts RFC 4180 (https://www.rfc-editor.org/rfc/rfc4180)
// and the variants found in German exchange files: any one-character
// delimiter (";" and "|" are common), quoted fields containing the
// delimiter, doubled quotes ("") and line breaks, LF or CRLF line ends, a
// last line without a line end, blank lines (skipped), a UTF-8 byte order
// mark, Windows-1252 / ISO-8859-1 / ISO-8859-15 text, decimal comma and
// dates such as DD.MM.YYYY. Decisions where RFC 4180 is silent or strict:
//
//   - A quote inside an unquoted field is literal text (12" Pizza).
//   - Text after a closing quote ("a"b) rejects the record; the rest of the
//     field is read as unquoted text so the following records stay aligned.
//   - Line breaks inside quoted fields are kept byte for byte (CRLF stays
//     CRLF), so a file read and written again is unchanged.
//   - A quoted field that is never closed is a file error at the line and
//     column where the quote opens: every later record would be misread, so
//     rejecting one record would hide lost data.
//   - A record longer than MaxRecordBytes (16 MiB, not counting the line
//     ending) is a file error naming its first line (bounded memory).
//   - A UTF-8 BOM in a file declared as windows-1252 or ISO-8859 is a file
//     error, because the file is evidently UTF-8.
//   - Delimiter, quote and comment must be one byte in the file's encoding
//     (for UTF-8: ASCII).
//   - Invalid UTF-8 in a utf-8 file, and a byte a single-byte charset does
//     not define (0x81 in windows-1252), reject the record: nothing is
//     replaced by U+FFFD silently.
//   - A bare CR (classic Mac OS, or CRLF converted twice to CR CR LF) is
//     not a line end: outside quotes it rejects the record (in the header:
//     a file error), so a CR-only file never reads as one long header line
//     that yields no records.
//   - A NUL byte (UTF-16 text, binary data) and, in UTF-8 files, a byte
//     order mark inside the data (files concatenated) reject the record; a
//     file starting with a UTF-16 byte order mark is a file error.
//   - A decimal with more digits than record.Decimal holds exactly (19
//     significant digits, 19 decimal places) rejects the record; it is
//     never rounded.
//   - Header names are trimmed of blanks; an empty one becomes colN. A
//     header naming a column twice is an error unless the columns are
//     taken by position.
//   - An empty file (or one with only a header) yields no records.
//
// The writer quotes a value only when it contains the delimiter, the
// quote, CR or LF, or starts or ends with a blank (quote_all: every
// non-null value), doubling quotes inside. Nulls are empty fields.
// Decimals use the decimal separator and optionally a fixed scale (rounded
// half away from zero); dates use date_format or the column's format. A
// value the target encoding cannot hold rejects its record with the field
// name, as does a value that needs quotes while quote is empty, a NUL
// byte or invalid UTF-8 (csv.read would reject the line), and a date whose
// year the pattern cannot hold (YYYY: 0 to 9999; YY: 1969 to 2068, the
// century window of two-digit years). For single-byte encodings text is
// normalised to Unicode NFC first, so a decomposed "e"+U+0301 (macOS, web
// forms) is written as é instead of being rejected; UTF-8 output keeps the
// bytes it is given. decimal_scale and a column's scale are the one
// declared rounding: without them decimals keep their own scale. With
// escape_formulas (default off) text values starting with =, +, -, @, tab
// or CR get a leading single quote, so spreadsheets do not run them as
// formulas (CSV injection); numbers and dates are never changed. A column
// whose field the records lack is an error (with a did-you-mean), not a
// reject per record.
//
// # Thousands separators
//
// With thousands set (".", ",", " " or "'"; default none) the reader
// accepts grouped digits in decimal and int columns: 1.234.567,89. The
// grouping is checked strictly, because a wrong guess silently changes
// amounts: after an optional sign, 1 to 3 digits that do not start with 0,
// then groups of exactly three digits, each after one separator; the
// separator must not appear after the decimal separator. 12.34,5, 1..234,
// 1234.567 and 0.500 each reject their record, naming the field, the value
// and what is wrong with the grouping. A value without separators (1234,50)
// is read as without the option. The separator must differ from decimal,
// delimiter and quote (a config error otherwise). Grouped values of up to
// 18 digits are parsed without allocation, like plain ones. The writer's
// thousands groups decimal values, and int values only in columns that set
// thousands themselves, so IDs are not written as 1.001.
//
// # Positions
//
// Every record's Origin is {File, Line of its first byte, Col 1, Index
// (1-based record number, header excluded)}. A reject for one field points
// at that field: line (quoted line breaks counted) and column in
// characters of the file, e.g. "abos.csv:12:34: amount: invalid decimal".
//
// # Types and nulls
//
// Declared columns are converted to string, int, decimal (record.Decimal,
// exact), bool, date (record.Date) or datetime. Values of typed columns
// are trimmed of blanks; a value listed in null_values (default: the empty
// text) becomes null. String columns keep their text verbatim ("" stays
// ""), unless trim or trim_space is set. A value that does not convert, a
// missing required value, a ragged row and invalid UTF-8 each reject the
// record with field, reason and position; reading continues. A reject
// carries the raw text of the declared columns; one with too many fields
// also keeps the surplus values, as _extra_1, _extra_2, ... (at most
// MaxSurplusFields), so the rejects file shows what did not fit. Datetimes
// without a zone in their pattern are read in the process's local zone (TZ).
//
// # Speed
//
// The reader scans the raw bytes itself (bytes.IndexByte per line and
// field); a record without quotes costs one string allocation, fields are
// substrings of it, and the values of a whole batch share one allocation.
// Decimals and the common date patterns are parsed without allocation. The
// writer formats into one buffer and writes it in large chunks.
package csv
