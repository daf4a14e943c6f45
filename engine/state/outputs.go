package state

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Publish moves the outputs of a prepared run into place: for each output
// with a Temp path, the temporary file is fsynced, renamed to Path and the
// directory fsynced. Outputs without Temp are skipped (already in place or
// written by a peer). It stops at the first error; running it again (or
// RollForward) continues where it stopped.
func Publish(outs []Output) error {
	for _, o := range outs {
		if o.Temp == "" {
			continue
		}
		if err := publishOne(o); err != nil {
			return err
		}
	}
	return nil
}

func publishOne(o Output) error {
	f, err := os.Open(o.Temp)
	if err != nil {
		return fmt.Errorf("publishing %s: %w", o.Path, err)
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("publishing %s: fsync %s: %w", o.Path, o.Temp, err)
	}
	if err := os.Rename(o.Temp, o.Path); err != nil {
		return fmt.Errorf("publishing %s: %w", o.Path, err)
	}
	return syncDir(filepath.Dir(o.Path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// RollForward finishes the publishing of a run that crashed while
// COMMITTING. For each output:
//   - its temporary file still exists: it was not renamed yet, so it is
//     checked against the recorded sha256 and renamed now (whether or not
//     an older file sits at the final path, which the rename replaces);
//   - the temporary file is gone and the final file exists: already done;
//   - both are gone (someone removed the temporary file): the output is
//     lost and reported in lost.
//
// done lists what was renamed now. An I/O error stops it.
func RollForward(outs []Output) (done, lost []string, err error) {
	for _, o := range outs {
		if o.Temp == "" {
			continue
		}
		if _, err := os.Stat(o.Temp); err == nil {
			if o.SHA256 != "" {
				sum, err := fileSHA256(o.Temp)
				if err != nil {
					return done, lost, err
				}
				if !strings.EqualFold(sum, o.SHA256) {
					lost = append(lost, fmt.Sprintf("%s (temporary file %s has sha256 %s, want %s)", o.Path, o.Temp, sum, o.SHA256))
					continue
				}
			}
			if err := publishOne(o); err != nil {
				return done, lost, err
			}
			done = append(done, o.Path)
			continue
		}
		if _, err := os.Stat(o.Path); err == nil {
			continue
		}
		lost = append(lost, o.Path+" (neither the temporary nor the final file exists)")
	}
	return done, lost, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("checking %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checking %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Recover describes and performs the recovery of one interrupted run, for
// Store implementations. For a COMMITTING run it rolls the outputs forward
// and returns apply=true when the buffered changes must now be applied
// (all outputs are in place); when an output is lost the changes are not
// applied and the run ends ERROR. For a RUNNING run it returns the ERROR
// message "interrupted". msg is the text for Run.Recovery.
//
// final is the status recorded by Prepare (Changes.Final).
func Recover(rec RunRecord, final Status) (apply bool, status Status, errText, msg string, err error) {
	switch rec.Status {
	case StatusRunning:
		return false, StatusError, "interrupted (the process ended without finishing the run)",
			fmt.Sprintf("run %s (started %s) was interrupted and is marked ERROR", rec.ID, rec.Start.UTC().Format("2006-01-02T15:04:05Z")), nil
	case StatusCommitting:
		done, lost, err := RollForward(rec.Outputs)
		if err != nil {
			return false, "", "", "", fmt.Errorf("recovering run %s: %w", rec.ID, err)
		}
		if len(lost) > 0 {
			e := "recovery failed: output lost: " + strings.Join(lost, "; ") + "; state not applied, check the published outputs before re-running (records may be exported again)"
			return false, StatusError, e, fmt.Sprintf("run %s was interrupted while committing and could not be finished: %s", rec.ID, e), nil
		}
		if final != StatusOK && final != StatusWarning {
			final = StatusOK
			if rec.Rejected > 0 {
				final = StatusWarning
			}
		}
		m := fmt.Sprintf("run %s was interrupted while committing and has been finished (%s)", rec.ID, final)
		if len(done) > 0 {
			m += "; published: " + strings.Join(done, ", ")
		}
		return true, final, "", m, nil
	}
	return false, rec.Status, rec.Error, "", nil
}
