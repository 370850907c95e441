package tracking

import (
	"strings"
	"testing"
)

// Real User-Agent strings, as sent by the crawlers and browsers named.
var (
	botUAs = map[string]string{
		"empty":                "",
		"blank":                "  ",
		"Twitterbot":           "Twitterbot/1.0",
		"LinkedInBot":          "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
		"Slackbot":             "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
		"Slack-ImgProxy":       "Slack-ImgProxy (+https://api.slack.com/robots)",
		"Discordbot":           "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
		"WhatsApp":             "WhatsApp/2.23.20.0 A",
		"facebookexternalhit":  "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		"Facebot":              "Facebot",
		"iMessage preview":     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
		"TelegramBot":          "TelegramBot (like TwitterBot)",
		"SkypeUriPreview":      "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com",
		"Iframely":             "Iframely/1.3.1 (+https://iframely.com/docs/about)",
		"embedly":              "Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)",
		"redditbot":            "Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)",
		"Pinterest":            "Pinterest/0.2 (+https://www.pinterest.com/bot.html)",
		"Pinterestbot":         "Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)",
		"Applebot":             "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
		"Mastodon":             "http.rb/5.1.1 (Mastodon/4.2.1; +https://mastodon.social/)",
		"Googlebot":            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Googlebot smartphone": "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.129 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"bingbot":              "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
		"DuckDuckBot":          "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
		"Baiduspider":          "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
		"YandexBot":            "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
		"AhrefsBot":            "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
		"SemrushBot":           "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
		"PetalBot":             "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
		"GPTBot":               "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
		"curl":                 "curl/8.5.0",
		"Wget":                 "Wget/1.21.3",
		"python-requests":      "python-requests/2.31.0",
		"python-urllib":        "Python-urllib/3.11",
		"Go-http-client":       "Go-http-client/1.1",
		"okhttp":               "okhttp/4.12.0",
		"axios":                "axios/1.6.2",
		"node-fetch":           "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
		"undici":               "undici",
		"libwww-perl":          "libwww-perl/6.72",
		"Java":                 "Java/17.0.9",
		"Apache-HttpClient":    "Apache-HttpClient/4.5.14 (Java/17.0.9)",
		"HeadlessChrome":       "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36",
		"PhantomJS":            "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
		"Lighthouse":           "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
	}
	humanUAs = map[string]string{
		"Chrome Windows":        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Chrome macOS":          "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Chrome Linux":          "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"ChromeOS":              "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Chrome Android":        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		"Chrome Android tablet": "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Chrome iOS":            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
		"Safari macOS":          "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
		"Safari iPhone":         "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
		"Safari iPad (old)":     "Mozilla/5.0 (iPad; CPU OS 12_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1 Mobile/15E148 Safari/604.1",
		"Firefox Windows":       "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Firefox Linux":         "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Firefox Android":       "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
		"Firefox Android tab":   "Mozilla/5.0 (Android 14; Tablet; rv:133.0) Gecko/133.0 Firefox/133.0",
		"Firefox iOS":           "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
		"Edge":                  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		"Samsung Internet":      "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
		"Opera":                 "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
		"Instagram in-app":      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.0.0.28.112 (iPhone15,2; iOS 17_1; en_US; en; scale=3.00; 1179x2556; 541635890)",
		"Facebook in-app":       "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/442.0.0.36.105;FBBV/547186373;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
		"Pinterest in-app":      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]",
		"LinkedIn in-app":       "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.29.1",
		"X in-app":              "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Twitter for iPhone/10.20",
		"CUBOT phone":           "Mozilla/5.0 (Linux; Android 11; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
		"Kindle":                "Mozilla/5.0 (Linux; Android 9; KFMAWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.4.1 like Chrome/120.0.6099.230 Safari/537.36",
	}
)

func TestIsBot(t *testing.T) {
	for name, ua := range botUAs {
		if !IsBot(ua) {
			t.Errorf("IsBot(%s) = false for %q", name, ua)
		}
		if upper := strings.ToUpper(ua); !IsBot(upper) {
			t.Errorf("IsBot(%s, upper case) = false", name)
		}
	}
	for name, ua := range humanUAs {
		if IsBot(ua) {
			t.Errorf("IsBot(%s) = true for %q", name, ua)
		}
	}
}

func TestIsBotLongUserAgent(t *testing.T) {
	// Longer than the stack buffer: the token at the end must still count.
	long := strings.Repeat("x", 600) + " Googlebot/2.1"
	if !IsBot(long) {
		t.Error("IsBot(long UA ending in Googlebot) = false")
	}
	if IsBot(strings.Repeat("Mozilla/5.0 ", 100)) {
		t.Error("IsBot(long browser-like UA) = true")
	}
}

func TestIsBotAllocations(t *testing.T) {
	ua := humanUAs["Chrome Android"]
	if n := testing.AllocsPerRun(100, func() { IsBot(ua) }); n != 0 {
		t.Errorf("IsBot allocates %v times per call, want 0", n)
	}
}

func BenchmarkIsBot(b *testing.B) {
	for _, bm := range []struct{ name, ua string }{
		{"chrome", humanUAs["Chrome Windows"]},
		{"safari-iphone", humanUAs["Safari iPhone"]},
		{"googlebot", botUAs["Googlebot"]},
		{"curl", botUAs["curl"]},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				IsBot(bm.ua)
			}
		})
	}
}
