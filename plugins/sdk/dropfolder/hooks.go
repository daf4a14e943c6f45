package dropfolder

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/kontor-etl/kontor/plugins/sdk/httpclient"
)

// WebhookHook POSTs the event as JSON to path on client (retries, rate
// limit and auth come from the client). A non-2xx answer is an error, so a
// before-webhook can veto a transfer by answering e.g. 409.
func WebhookHook(client *httpclient.Client, path string) Hook {
	return func(ctx context.Context, e Event) error {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = client.Do(ctx, httpclient.Request{Method: "POST", Path: path, Body: b, Idempotent: true})
		return err
	}
}

// CommandHook runs argv (no shell) with the event in the environment:
// KONTOR_PHASE, KONTOR_FILE, KONTOR_PATH, KONTOR_STATUS, KONTOR_REASON.
// A non-zero exit is an error (a before-command vetoes the transfer); the
// command is killed after timeout (default 1m).
func CommandHook(argv []string, timeout time.Duration) Hook {
	if timeout <= 0 {
		timeout = time.Minute
	}
	return func(ctx context.Context, e Event) error {
		if len(argv) == 0 {
			return fmt.Errorf("command hook: no command")
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "KONTOR_PHASE="+e.Phase, "KONTOR_FILE="+e.File, "KONTOR_PATH="+e.Path,
			"KONTOR_STATUS="+e.Status, "KONTOR_REASON="+e.Reason)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			msg := bytes.TrimSpace(out.Bytes())
			if len(msg) > 300 {
				msg = msg[:300]
			}
			return fmt.Errorf("command %s: %v: %s", argv[0], err, msg)
		}
		return nil
	}
}
