// Package notify tells people when a run ends badly: a webhook (JSON POST
// of the run summary with a link into the navigator) and/or an e-mail
// over SMTP with STARTTLS, as configured by the pipeline's `notify:` key
// (engine/spec.Notify).
//
// Notifying never changes a run's outcome: failures are logged (and
// returned for callers that want them) but never fatal. Secrets (the SMTP
// password, webhook header values, anything in Pipeline.Secrets) never
// appear in messages or logs.
package notify

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/runner"
	"github.com/kontor-etl/kontor/engine/spec"
)

// Summary is what a notification says about a run (the webhook's JSON body).
type Summary struct {
	Event      string    `json:"event"` // "run.error" or "run.warning"
	Pipeline   string    `json:"pipeline"`
	File       string    `json:"file,omitempty"`
	RunID      string    `json:"run_id,omitempty"`
	Status     string    `json:"status"`
	ExitCode   int       `json:"exit_code"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	DurationMS int64     `json:"duration_ms"`
	Error      string    `json:"error,omitempty"`
	// Message says why a committed run did no work (e.g. "inbox in: no
	// files matching *.txt" for a drop-folder pipeline with on_empty:
	// warning); empty otherwise.
	Message      string                `json:"message,omitempty"`
	RejectsTotal int64                 `json:"rejects_total"`
	Rejects      []runner.RejectReport `json:"rejects,omitempty"` // the first 10
	Steps        []runner.StepReport   `json:"steps"`
	Outputs      []runner.OutputReport `json:"outputs"`
	// Link is the run's page in the navigator (empty without a base URL).
	Link string `json:"link,omitempty"`
	Host string `json:"host,omitempty"`
}

// FromReport builds the summary of a run report. baseURL is the
// navigator's address as users reach it (`--base-url`, e.g.
// https://kontor.example.org); "" gives no link.
func FromReport(rep *runner.Report, baseURL string) Summary {
	s := Summary{
		Event: "run." + strings.ToLower(rep.Status), Pipeline: rep.Pipeline, File: rep.File, RunID: rep.RunID,
		Status: rep.Status, ExitCode: rep.ExitCode, Start: rep.Start, End: rep.End, DurationMS: rep.DurationMS,
		Error: rep.Error, Message: rep.Message, RejectsTotal: rep.RejectsTotal, Steps: rep.Steps, Outputs: rep.Outputs,
	}
	s.Rejects = rep.Rejects[:min(len(rep.Rejects), 10)]
	s.Host, _ = osHostname()
	if baseURL != "" && rep.RunID != "" {
		s.Link = RunLink(baseURL, rep.Pipeline, rep.RunID)
	}
	return s
}

// RunLink is the navigator URL of a run.
func RunLink(baseURL, pipeline, runID string) string {
	return strings.TrimRight(baseURL, "/") + "/pipelines/" + url.PathEscape(pipeline) + "/runs/" + url.PathEscape(runID)
}

// Notifier sends notifications. The zero value works (http.DefaultClient
// semantics with a 10 s timeout, system TLS roots, no logging).
type Notifier struct {
	// HTTPClient posts webhooks (nil: a client with Timeout).
	HTTPClient *http.Client
	// TLSConfig is used for STARTTLS (nil: system roots; ServerName is
	// set to the SMTP host when empty).
	TLSConfig *tls.Config
	// Timeout bounds each delivery (default 10s).
	Timeout time.Duration
	// RetryDelay is the pause before the one retry of a webhook (default 1s).
	RetryDelay time.Duration
	Logger     *slog.Logger
}

// Notify sends the summary of a run through the pipeline's channels when
// its status is one of cfg.On (nil cfg: nothing). secrets are redacted
// from error messages. Failures are logged and returned joined; they must
// not change the run's outcome.
func (n *Notifier) Notify(ctx context.Context, cfg *spec.Notify, s Summary, secrets []string) error {
	if !cfg.Notifies(s.Status) {
		return nil
	}
	log := n.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	redact := func(err error) error {
		msg := err.Error()
		for _, sec := range secrets {
			if sec != "" {
				msg = strings.ReplaceAll(msg, sec, "***")
			}
		}
		return errors.New(msg)
	}
	var errs []error
	if cfg.Webhook != nil {
		if err := n.webhook(ctx, cfg.Webhook, s); err != nil {
			err = redact(fmt.Errorf("notifying webhook: %w", err))
			log.Error("notification failed", "pipeline", s.Pipeline, "run", s.RunID, "channel", "webhook", "err", err)
			errs = append(errs, err)
		} else {
			log.Info("notification sent", "pipeline", s.Pipeline, "run", s.RunID, "channel", "webhook")
		}
	}
	if cfg.Email != nil {
		if err := n.email(ctx, cfg.Email, s); err != nil {
			err = redact(fmt.Errorf("notifying by e-mail: %w", err))
			log.Error("notification failed", "pipeline", s.Pipeline, "run", s.RunID, "channel", "email", "err", err)
			errs = append(errs, err)
		} else {
			log.Info("notification sent", "pipeline", s.Pipeline, "run", s.RunID, "channel", "email", "to", strings.Join(cfg.Email.To, ","))
		}
	}
	return errors.Join(errs...)
}

func (n *Notifier) timeout() time.Duration {
	if n.Timeout > 0 {
		return n.Timeout
	}
	return 10 * time.Second
}

// webhook POSTs the summary as JSON; a network error or a 5xx is retried
// once after a second.
func (n *Notifier) webhook(ctx context.Context, w *spec.Webhook, s Summary) error {
	body, err := json.Marshal(s)
	if err != nil {
		return err
	}
	client := n.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: n.timeout()}
	}
	var last error
	for attempt := 0; attempt < 2; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(cmp.Or(n.RetryDelay, time.Second)):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "kontor-notify")
		for k, v := range w.Headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return nil
		}
		last = fmt.Errorf("%s answered %s", redactURL(w.URL), resp.Status)
		if resp.StatusCode < 500 {
			return last
		}
	}
	return last
}

// redactURL drops the query and user info of a URL (tokens often live there).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "webhook"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

// email sends a plain-text mail.
func (n *Notifier) email(ctx context.Context, e *spec.Email, s Summary) error {
	host, _, err := net.SplitHostPort(e.SMTP)
	if err != nil {
		return err
	}
	d := net.Dialer{Timeout: n.timeout()}
	conn, err := d.DialContext(ctx, "tcp", e.SMTP)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(n.timeout()))
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", e.SMTP, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if n.TLSConfig != nil {
			cfg = n.TLSConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp %s: STARTTLS: %w", e.SMTP, err)
		}
	} else if e.StartTLS {
		return fmt.Errorf("smtp %s does not offer STARTTLS (set starttls: false only for a relay on this host)", e.SMTP)
	}
	if e.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.Username, e.Password, host)); err != nil {
			return fmt.Errorf("smtp %s: authentication as %s failed: %w", e.SMTP, e.Username, err)
		}
	}
	if err := c.Mail(e.From); err != nil {
		return fmt.Errorf("smtp %s: MAIL FROM: %w", e.SMTP, err)
	}
	for _, to := range e.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("smtp %s: RCPT TO %s: %w", e.SMTP, to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", e.SMTP, err)
	}
	if _, err := w.Write(Message(e.From, e.To, s, time.Now())); err != nil {
		return fmt.Errorf("smtp %s: %w", e.SMTP, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp %s: sending: %w", e.SMTP, err)
	}
	return c.Quit()
}

// Message renders the e-mail (headers and a quoted-printable UTF-8 body).
func Message(from string, to []string, s Summary, now time.Time) []byte {
	var b bytes.Buffer
	subject := fmt.Sprintf("[kontor] %s: %s", s.Pipeline, s.Status)
	if s.RunID != "" {
		subject += " (run " + s.RunID + ")"
	}
	id := make([]byte, 12)
	rand.Read(id)
	host := s.Host
	if host == "" {
		host = "kontor.invalid"
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\n",
		from, strings.Join(to, ", "), mime.QEncoding.Encode("utf-8", subject), now.Format(time.RFC1123Z), hex.EncodeToString(id), host)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\nAuto-Submitted: auto-generated\r\n\r\n")
	var body strings.Builder
	fmt.Fprintf(&body, "Pipeline %s ended %s.\n\n", s.Pipeline, s.Status)
	if s.RunID != "" {
		fmt.Fprintf(&body, "Run:      %s\n", s.RunID)
	}
	fmt.Fprintf(&body, "Started:  %s\nEnded:    %s (%.1fs)\n", s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339), float64(s.DurationMS)/1000)
	if s.Host != "" {
		fmt.Fprintf(&body, "Host:     %s\n", s.Host)
	}
	if s.Message != "" {
		fmt.Fprintf(&body, "\n%s\n", s.Message)
	}
	if s.Error != "" {
		fmt.Fprintf(&body, "\nError: %s\n", s.Error)
	}
	if s.RejectsTotal > 0 {
		fmt.Fprintf(&body, "\n%d records rejected", s.RejectsTotal)
		if len(s.Rejects) > 0 {
			body.WriteString(", the first:\n")
			for _, r := range s.Rejects {
				fmt.Fprintf(&body, "  %s: %s: %s %s\n", r.Origin, r.Step, r.Field, r.Reason)
			}
		} else {
			body.WriteString("\n")
		}
	}
	if len(s.Steps) > 0 {
		body.WriteString("\nSteps (in / out / rejected):\n")
		for _, st := range s.Steps {
			fmt.Fprintf(&body, "  %-24s %d / %d / %d\n", st.ID, st.In, st.Out, st.Rejected)
		}
	}
	if s.Link != "" {
		fmt.Fprintf(&body, "\nDetails: %s\n", s.Link)
	}
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(body.String(), "\n", "\r\n")))
	qp.Close()
	return b.Bytes()
}
