package config

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load("serve", nil, env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "localhost:8080" || c.DB != "affiliated.db" || c.BaseURL.String() != "http://localhost:8080" ||
		c.CookieName != "aff_ref" || c.IPMode != "truncate" || c.ClickBatchSize != 1000 ||
		c.ClickBatchWait != 2*time.Millisecond || c.WebhookTolerance != 5*time.Minute || !c.Workers {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestPrecedence(t *testing.T) {
	c, err := Load("serve", []string{"--addr", "127.0.0.1:9000"},
		env(map[string]string{"AFFILIATED_ADDR": "127.0.0.1:1", "AFFILIATED_DB": "x.db", "AFFILIATED_PADDLE_SECRET": "a, b,"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.DB != "x.db" || len(c.PaddleSecrets) != 2 || c.PaddleSecrets[1] != "b" {
		t.Fatalf("%+v", c)
	}
}

func TestInvalidNamesTheOption(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--base-url", "ftp://x"}, nil, "--base-url"},
		{nil, map[string]string{"AFFILIATED_BASE_URL": "nope"}, "AFFILIATED_BASE_URL"},
		{[]string{"--addr", "nope"}, nil, "--addr"},
		{[]string{"--click-batch-size", "0"}, nil, "--click-batch-size"},
		{[]string{"--click-batch-wait", "soon"}, nil, "--click-batch-wait"},
		{[]string{"--ip-mode", "hash"}, nil, "--ip-salt"},
		{[]string{"--log-json", "maybe"}, nil, "--log-json"},
		{[]string{"--no-such-flag"}, nil, "no-such-flag"},
		{[]string{"extra"}, nil, "extra"},
		{nil, map[string]string{"AFFILIATED_OWNER_EMAILS": "bob"}, "--owner-emails"},
	}
	for _, tc := range cases {
		_, err := Load("serve", tc.args, env(tc.env), nil)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%v %v: err = %v, want UsageError", tc.args, tc.env, err)
			continue
		}
		if !strings.Contains(ue.Msg, tc.want) || strings.Contains(ue.Msg, "\n") {
			t.Errorf("%v: message %q should name %s on one line", tc.args, ue.Msg, tc.want)
		}
	}
}

func TestSecretsNotEchoed(t *testing.T) {
	_, err := Load("serve", []string{"--db", ""}, env(nil), nil)
	if err == nil || !strings.Contains(err.Error(), "(secret)") {
		t.Fatalf("err = %v", err)
	}
}

func TestHelpListsEveryOption(t *testing.T) {
	var b bytes.Buffer
	_, err := Load("serve", []string{"--help"}, env(nil), &b)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, o := range Options() {
		if !strings.Contains(b.String(), "--"+o.Name) || !strings.Contains(b.String(), o.Env) {
			t.Errorf("--help lacks %s / %s", o.Name, o.Env)
		}
	}
}

// The README's configuration table is what users read: it must name every option.
func TestREADMEListsEveryOption(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range Options() {
		if !strings.Contains(string(b), "`--"+o.Name+"`") || !strings.Contains(string(b), "`"+o.Env+"`") {
			t.Errorf("README.md configuration table lacks --%s / %s", o.Name, o.Env)
		}
	}
}
