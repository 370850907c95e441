package demo

import "affiliated/internal/program"

// The cast. Every address is on a domain reserved for examples, so no
// demo email can reach a person.

var emailDomains = []string{"example.com", "example.org", "example.net"}

const vendorDomain = "example.it"

type coursePartner struct {
	name, code, channel, site, promotion, status string
	rate                                         int // bps override; 0 for the program's
}

var coursePartners = []coursePartner{
	{"Maya Chen", "mayacodes", "youtube", "https://youtube.com/@mayacodes", "Go tutorials for 180k subscribers", program.StatusActive, 6000},
	{"Devon Brooks", "devon", "newsletter", "https://devonweekly.example.org", "Weekly backend newsletter, 40k readers", program.StatusActive, 0},
	{"Priya Raman", "priya", "blog", "https://priya.example.org", "Long-form posts on Go and testing", program.StatusActive, 0},
	{"Lukas Becker", "lukasb", "twitter", "https://x.com/lukasb", "Threads about shipping side projects", program.StatusActive, 0},
	{"Sofia Marino", "sofia", "youtube", "https://youtube.com/@sofiabuilds", "Live-coding streams", program.StatusActive, 0},
	{"Tom Okafor", "tomcast", "podcast", "https://shipshape.example.net", "Podcast host, mentions the course with a coupon", program.StatusActive, 0},
	{"Hannah Lindqvist", "hannah", "blog", "https://hannah.example.com", "Reviews of developer courses", program.StatusActive, 0},
	{"Ravi Kumar", "ravik", "reddit", "", "Answers on r/golang", program.StatusActive, 0},
	{"Emma Dubois", "emmad", "linkedin", "https://linkedin.com/in/emmad", "Engineering manager, recommends courses to her team", program.StatusActive, 0},
	{"Kenji Watanabe", "kenji", "youtube", "https://youtube.com/@kenjidev", "Japanese-language Go videos", program.StatusActive, 0},
	{"Ana Souza", "anasouza", "newsletter", "https://bytes.example.com", "Portuguese-language newsletter", program.StatusActive, 0},
	{"Marcus Hale", "marcus", "twitter", "https://x.com/marcushale", "Indie hacker", program.StatusActive, 0},
	{"Zoe Fischer", "zoe", "blog", "https://zoe.example.net", "Career advice for juniors", program.StatusActive, 0},
	{"Omar Haddad", "omar", "podcast", "https://backendbanter.example.org", "Backend Banter podcast", program.StatusActive, 0},
	{"Lena Novak", "lenanovak", "linkedin", "https://linkedin.com/in/lenanovak", "Tech lead posts", program.StatusActive, 0},
	{"Diego Ramos", "diego", "youtube", "https://youtube.com/@diegoramos", "Spanish-language coding channel", program.StatusActive, 0},
	{"Grace Kim", "gracek", "newsletter", "https://gracenotes.example.com", "Newsletter on web performance", program.StatusActive, 0},
	{"Felix Wagner", "felixw", "reddit", "", "Moderator of a Go community", program.StatusActive, 0},
	{"Chloe Martin", "chloe", "blog", "https://chloe.example.org", "Bootcamp graduate blog", program.StatusActive, 0},
	{"Noah Andersson", "noah", "twitter", "https://x.com/noahcodes", "Open-source maintainer", program.StatusActive, 0},
	{"Isabel Costa", "isabel", "youtube", "https://youtube.com/@isabelcosta", "Shorts about Go tips", program.StatusActive, 0},
	{"Sam Taylor", "samt", "blog", "https://samt.example.com", "DevOps blog", program.StatusActive, 0},
	{"Julia Weber", "juliaw", "newsletter", "https://juliaweekly.example.net", "Applied to promote in her newsletter", program.StatusPending, 0},
	{"Alex Petrov", "alexp", "blog", "https://alexp.example.org", "Applied: coupon sites", program.StatusPending, 0},
	{"Brian Moss", "bmoss", "twitter", "https://x.com/bmoss", "Suspended after coupon spam", program.StatusSuspended, 0},
}

type vendor struct{ name, code, promotion string }

var vendors = []vendor{
	{"Enoteca Solare", "solare", "Wine shop in the village square; QR code at the till"},
	{"Trattoria da Gino", "trattoria-gino", "Recommends the wine tour to dinner guests"},
	{"Bottega Rosa", "bottega-rosa", "Ceramics shop; flyer by the door"},
	{"Forno Lucia", "forno-lucia", "Bakery; QR code on the bread bags"},
	{"Bici Chianti", "bici-chianti", "Bike hire; suggests the tour as a day trip"},
	{"Gelateria del Sole", "gelateria-sole", "Ice cream shop on the main street"},
	{"Hotel Belvedere", "hotel-belvedere", "Hotel concierge books tastings for guests"},
}

// sourcesOf returns the Referer values a partner's visitors arrive with,
// repeated by weight; "" is none (apps, email clients, typed links).
func sourcesOf(channel, site string) []string {
	common := []string{"", "https://www.google.com/", "https://duckduckgo.com/"}
	switch channel {
	case "youtube":
		return append(common, "https://www.youtube.com/", "https://www.youtube.com/", "https://www.youtube.com/",
			"https://m.youtube.com/", "https://m.youtube.com/", "")
	case "newsletter":
		return append(common, "", "", "", "https://mail.google.com/", site+"/issues/42")
	case "blog":
		return append(common, site+"/posts/go-course-review", site+"/posts/go-course-review", site+"/posts/testing-tips", site+"/")
	case "twitter":
		return append(common, "https://t.co/", "https://t.co/", "https://t.co/", "https://x.com/", "")
	case "podcast":
		return append(common, "", "", "", "https://podcasts.apple.com/", "https://open.spotify.com/")
	case "reddit":
		return append(common, "https://www.reddit.com/r/golang/", "https://www.reddit.com/r/golang/", "https://old.reddit.com/")
	case "linkedin":
		return append(common, "https://www.linkedin.com/", "https://www.linkedin.com/", "https://lnkd.in/")
	}
	return common
}

// Vendors' guests mostly scan a QR code (no Referer) or find the link on maps.
var vendorSources = []string{"", "", "", "", "", "", "https://www.google.com/maps", "https://www.instagram.com/",
	"https://l.instagram.com/", "https://www.tripadvisor.com/"}

// userAgent is a browser (or crawler) and how often it is seen.
type userAgent struct {
	ua     string
	course int // weight among the course's visitors
	villa  int // among the vendors' (more phones: QR codes)
}

var userAgents = []userAgent{
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 30, 6},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", 14, 4},
	{"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", 6, 1},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 22, 45},
	{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", 15, 35},
	{"Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", 4, 5},
	{"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 2, 2},
	{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 1, 1},
	{"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", 1, 1},
	{"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", 1, 0},
	{"Twitterbot/1.0", 1, 0},
}
