package runner

import (
	"bufio"
	"fmt"

	"filippo.io/age"
)

// encryptTo makes o encrypt everything the encoder writes with age to the
// recipients (a file sink's `encrypt:`). The encoder's buffered writer
// feeds the age stream, which writes to the temporary file through the
// hashing writer: the plaintext never reaches the disk, and the sha256 and
// size recorded for the output are those of the encrypted file. finish
// closes the age stream (its last chunk) before the fsync. The rejects
// file uses it too (rejectFile). Scratch files (Output.Temp) of such an
// output are sealed with a per-file key held only in memory
// (sealedScratch), so they never hold plaintext either; like all scratch
// files they are removed when the run succeeds, fails or is cancelled, and
// after a SIGKILL by the next run's cleanStale.
func (o *outFile) encryptTo(recipients []age.Recipient) error {
	if len(recipients) == 0 {
		return fmt.Errorf("encrypting %s: no recipients", o.final)
	}
	w, err := age.Encrypt((*outWriter)(o), recipients...)
	if err != nil {
		return fmt.Errorf("encrypting %s: %w", o.final, err)
	}
	o.enc = w
	o.bw = bufio.NewWriterSize(w, 64<<10)
	return nil
}
