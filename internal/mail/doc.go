// Package mail sends email: one message, to one recipient, at a time.
//
// The notification outbox (internal/notify) calls a Sender for every email
// and decides what to do with a failure through IsPermanent: temporary
// failures are retried, permanent ones may be dead-lettered. Two Senders
// exist: SMTP, configured by ParseURL from AFFILIATED_SMTP_URL, and
// NewLogSender for a laptop without SMTP, which only logs.
//
// Every message with HTML is sent as multipart/alternative with a real
// plain-text part (Message.Text, or HTMLToText of the HTML), UTF-8 and
// quoted-printable. The Message-ID comes from the caller (MessageIDFor), so
// that a message sent twice after a crash shows once in the recipient's mail
// client: delivery is at least once, deduplicated by the reader.
//
// Tests use the in-process server in package smtptest.
package mail
