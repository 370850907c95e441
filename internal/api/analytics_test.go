package api_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/server/servertest"
)

type anMoney struct {
	Gross, Net, Commission int64
	EPC                    string
}

type anStats struct {
	Clicks         int64               `json:"clicks"`
	Uniques        int64               `json:"unique_visitors"`
	Bots           int64               `json:"bot_clicks"`
	Conversions    int64               `json:"conversions"`
	Renewals       int64               `json:"renewals"`
	ConversionRate float64             `json:"conversion_rate"`
	Money          map[string]*anMoney `json:"money"`
}

type anOverview struct {
	From, To time.Time
	Interval string
	TZ       string
	Totals   anStats
	Points   []struct {
		Start time.Time
		anStats
	}
}

// anClick follows a referral link as a browser would and returns the
// referral id it was given.
func anClick(t *testing.T, app *servertest.App, code, referrer, ua string) string {
	t.Helper()
	r := app.DoWith("GET", "/r/"+code, nil, http.Header{"Referer": {referrer}, "User-Agent": {ua}})
	if r.Status != http.StatusFound {
		t.Fatalf("/r/%s: %d", code, r.Status)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query().Get("ref")
}

const (
	anDesktop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
	anPhone   = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
	anBot     = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)

// TestAnalyticsAPI goes from referral clicks and a reported sale to every
// report, as JSON and as CSV.
func TestAnalyticsAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		p := newProgram(t, app, "course")
		var evil, plain struct{ ID int64 }
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"program_id": p.ID,
			"email": "evil@example.com", "code": "evil", "name": "=HYPERLINK(\"http://x.example\",\"hi\")"}, &evil)
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"program_id": p.ID,
			"email": "plain@example.com", "code": "plain", "name": "Plain"}, &plain)

		ref := anClick(t, app, "evil", "https://www.youtube.com/watch?v=1", anDesktop)
		anClick(t, app, "evil", "https://www.youtube.com/", anPhone)
		anClick(t, app, "evil", "", anPhone)
		anClick(t, app, "evil", "https://t.co/x", anBot)
		anClick(t, app, "plain", "https://=cmd.example/", anDesktop)
		app.MustDo(http.StatusCreated, "POST", "/api/v1/conversions", map[string]any{
			"kind": "sale", "platform": "shop", "event_id": "e1", "order_id": "o1", "currency": "USD",
			"gross": 12000, "tax": 2000, "referral": ref}, nil)

		now := time.Now().UTC()
		rng := "from=" + now.Add(-24*time.Hour).Format(time.RFC3339) + "&to=" + now.Add(time.Hour).Format(time.RFC3339)
		var o anOverview
		app.MustDo(http.StatusOK, "GET", "/api/v1/analytics/overview?"+rng+"&interval=hour&tz=Europe/Rome&program_id="+itoa(p.ID), nil, &o)
		tot := o.Totals
		if tot.Clicks != 4 || tot.Uniques != 4 || tot.Bots != 1 || tot.Conversions != 1 || tot.ConversionRate != 0.25 {
			t.Errorf("totals %+v: want 4 clicks (all new visitors), 1 bot, 1 conversion, rate 0.25", tot)
		}
		if m := tot.Money["USD"]; m == nil || m.Gross != 12000 || m.Net != 10000 || m.Commission != 5000 || m.EPC != "12.5000" {
			t.Errorf("USD %+v: want gross 12000, net 10000, commission 5000 (50%%), EPC 12.5000 a click", m)
		}
		if o.TZ != "Europe/Rome" || o.Interval != "hour" || len(o.Points) < 25 {
			t.Errorf("series %s %s with %d points", o.TZ, o.Interval, len(o.Points))
		}
		var perAff anOverview
		app.MustDo(http.StatusOK, "GET", "/api/v1/analytics/overview?"+rng+"&affiliate_id="+itoa(plain.ID), nil, &perAff)
		if perAff.Totals.Clicks != 1 || perAff.Totals.Conversions != 0 {
			t.Errorf("plain's totals %+v", perAff.Totals)
		}

		// CSV: one row per point, amounts in major units.
		r := app.MustDo(http.StatusOK, "GET", "/api/v1/analytics/overview?"+rng+"&interval=hour&format=csv", nil, nil)
		rows := anCSV(t, r)
		if len(rows) != len(o.Points)+1 || strings.Join(rows[0][:3], ",") != "start,clicks,unique_visitors" ||
			!strings.Contains(strings.Join(rows[0], ","), "gross_USD,net_USD,commission_USD,epc_USD") {
			t.Errorf("overview CSV: %d rows, header %v", len(rows), rows[0])
		}
		if !strings.Contains(string(r.Body), ",120.00,100.00,50.00,") {
			t.Errorf("overview CSV lacks the sale in major units:\n%s", r.Body)
		}

		var top struct {
			By, Currency string
			Data         []struct {
				AffiliateID int64 `json:"affiliate_id"`
				Name        string
				anStats
			}
		}
		app.MustDo(http.StatusOK, "GET", "/api/v1/analytics/top-affiliates?"+rng+"&by=revenue", nil, &top)
		if top.By != "revenue" || top.Currency != "USD" || len(top.Data) != 2 || top.Data[0].AffiliateID != evil.ID {
			t.Errorf("top affiliates by revenue: %+v", top)
		}
		rows = anCSV(t, app.MustDo(http.StatusOK, "GET", "/api/v1/analytics/top-affiliates?"+rng+"&by=revenue&format=csv", nil, nil))
		if len(rows) != 3 || rows[1][1] != `'=HYPERLINK("http://x.example","hi")` {
			t.Errorf("top affiliates CSV: the formula must be defused: %q", rows)
		}

		type dimReport struct {
			Dim   string `json:"dimension"`
			Total int64  `json:"total_clicks"`
			Data  []struct {
				Value  string
				Clicks int64
			}
		}
		for path, want := range map[string]string{
			"top-referrers":     "youtube.com:2 :1 =cmd.example:1", // ties by value; "" is no referrer
			"top-landing-pages": "course.example.com/:4",
			"devices":           "desktop:2 mobile:2",
		} {
			var rep dimReport
			app.MustDo(http.StatusOK, "GET", "/api/v1/analytics/"+path+"?"+rng, nil, &rep)
			var got []string
			for _, row := range rep.Data {
				got = append(got, fmt.Sprintf("%s:%d", row.Value, row.Clicks))
			}
			if strings.Join(got, " ") != want || rep.Total != 4 {
				t.Errorf("%s: %v (total %d), want %s", path, got, rep.Total, want)
			}
		}
		rows = anCSV(t, app.MustDo(http.StatusOK, "GET", "/api/v1/analytics/top-referrers?"+rng+"&format=csv&limit=3", nil, nil))
		if len(rows) != 4 || rows[0][0] != "referrer_host" || rows[3][0] != "'=cmd.example" {
			t.Errorf("referrers CSV: %q", rows)
		}
	})
}

func anCSV(t *testing.T, r *servertest.Response) [][]string {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="`) {
		t.Fatalf("Content-Disposition %q", cd)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if err != nil {
		t.Fatalf("%v:\n%s", err, r.Body)
	}
	return rows
}

func TestAnalyticsAPIErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		for _, tc := range []struct {
			query, field string
		}{
			{"interval=week", "interval"},
			{"tz=Mars/Olympus_Mons", "tz"},
			{"from=yesterday", "from"},
			{"from=2026-02-01&to=2026-01-01", "to"},
			{"program_id=999", "program_id"},
			{"affiliate_id=-1", "affiliate_id"},
			{"format=xml", "format"},
			{"from=2020-01-01&to=2026-01-01&interval=hour", "interval"},
		} {
			wantError(t, app.Do("GET", "/api/v1/analytics/overview?"+tc.query, nil), http.StatusBadRequest, "invalid", tc.field)
		}
		wantError(t, app.Do("GET", "/api/v1/analytics/top-affiliates?by=mood", nil), http.StatusBadRequest, "invalid", "by")
		wantError(t, app.Do("GET", "/api/v1/analytics/top-referrers?limit=5000", nil), http.StatusBadRequest, "invalid", "limit")
		wantError(t, app.Do("GET", "/api/v1/analytics/top-affiliates?by=revenue&currency=dollars", nil), http.StatusBadRequest, "invalid", "currency")
		for _, path := range []string{"overview", "top-affiliates", "top-referrers", "top-landing-pages", "devices"} {
			wantError(t, app.DoWith("GET", "/api/v1/analytics/"+path, nil, http.Header{}), http.StatusUnauthorized, "unauthorized", "")
			// An empty database answers with zeros, not an error.
			app.MustDo(http.StatusOK, "GET", "/api/v1/analytics/"+path, nil, nil)
		}
	})
}
