package mail

import (
	"context"
	"log/slog"
)

// NewLogSender returns the Sender used when no SMTP server is configured: it
// checks the message as the SMTP sender would (so a malformed message fails in
// development too), logs who it was for, and reports success. The body is not
// logged: it may hold a sign-in code. The outbox keeps every message in the
// database, which is where the dev mailbox page reads them.
func NewLogSender(logger *slog.Logger) Sender {
	return logSender{log: logger}
}

type logSender struct {
	log *slog.Logger
}

func (s logSender) Send(ctx context.Context, m Message) error {
	msg, env, err := build(m)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "mail: not sent, no SMTP configured (dev mailbox)",
		slog.String("message_id", msg.GetMessageID()),
		slog.String("to", env.to),
		slog.String("subject", m.Subject),
		slog.Int("html_bytes", len(m.HTML)),
		slog.Int("text_bytes", len(m.Text)),
	)
	return nil
}
