package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"filippo.io/age"
)

// cmdKeygen creates an age X25519 identity for encrypted outputs: the
// identity (secret key) goes to -o FILE (mode 0600, never overwritten) or
// stdout; the recipient (public key, for a sink's encrypt.recipients) is
// printed to stdout (to stderr when the identity goes to stdout). An
// existing FILE is refused with exit 1 (nothing written).
func cmdKeygen(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("keygen", "[-o FILE]", stderr)
	out := fs.String("o", "", "write the identity (secret key) to `FILE`, created with mode 0600; it must not exist (default: stdout)")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return usageErr(fs, "unexpected arguments %q", pos)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		fmt.Fprintf(stderr, "kontor keygen: %v\n", err)
		return exitError
	}
	text := fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", time.Now().Format(time.RFC3339), id.Recipient(), id)
	if *out == "" {
		fmt.Fprint(stdout, text)
		fmt.Fprintf(stderr, "Public key: %s\n", id.Recipient())
		return exitOK
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			// A refusal at run time, not a bad command line: exit 1.
			fmt.Fprintf(stderr, "kontor keygen: %s exists; not overwriting an identity\n", *out)
			return exitError
		}
		fmt.Fprintf(stderr, "kontor keygen: %v\n", err)
		return exitError
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		os.Remove(*out)
		fmt.Fprintf(stderr, "kontor keygen: %v\n", err)
		return exitError
	}
	if err := f.Close(); err != nil {
		fmt.Fprintf(stderr, "kontor keygen: %v\n", err)
		return exitError
	}
	fmt.Fprintln(stdout, id.Recipient())
	return exitOK
}
