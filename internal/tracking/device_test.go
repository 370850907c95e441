package tracking

import "testing"

func TestDeviceOf(t *testing.T) {
	want := map[string]Device{
		"Chrome Windows":        DeviceDesktop,
		"Chrome macOS":          DeviceDesktop,
		"Chrome Linux":          DeviceDesktop,
		"ChromeOS":              DeviceDesktop,
		"Chrome Android":        DeviceMobile,
		"Chrome Android tablet": DeviceTablet,
		"Chrome iOS":            DeviceMobile,
		"Safari macOS":          DeviceDesktop,
		"Safari iPhone":         DeviceMobile,
		"Safari iPad (old)":     DeviceTablet,
		"Firefox Windows":       DeviceDesktop,
		"Firefox Linux":         DeviceDesktop,
		"Firefox Android":       DeviceMobile,
		"Firefox Android tab":   DeviceTablet,
		"Firefox iOS":           DeviceMobile,
		"Edge":                  DeviceDesktop,
		"Samsung Internet":      DeviceMobile,
		"Opera":                 DeviceDesktop,
		"Instagram in-app":      DeviceMobile,
		"Facebook in-app":       DeviceMobile,
		"Pinterest in-app":      DeviceMobile,
		"LinkedIn in-app":       DeviceMobile,
		"X in-app":              DeviceMobile,
		"CUBOT phone":           DeviceMobile,
		"Kindle":                DeviceTablet,
	}
	for name, ua := range humanUAs {
		w, ok := want[name]
		if !ok {
			t.Errorf("no expected device for %s", name)
			continue
		}
		if got := DeviceOf(ua); got != w {
			t.Errorf("DeviceOf(%s) = %s, want %s", name, got, w)
		}
	}
	for name, ua := range botUAs {
		if got := DeviceOf(ua); got != DeviceBot {
			t.Errorf("DeviceOf(%s) = %s, want bot", name, got)
		}
	}
	for _, tt := range []struct {
		ua   string
		want Device
	}{
		{"Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.14977", DeviceMobile},
		{"Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25 Version/10.54", DeviceMobile},
		{"Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko)", DeviceUnknown},
		{"SomeApp/1.0", DeviceUnknown},
	} {
		if got := DeviceOf(tt.ua); got != tt.want {
			t.Errorf("DeviceOf(%q) = %s, want %s", tt.ua, got, tt.want)
		}
	}
}

func TestClassifyIsDeviceOfAndIsBot(t *testing.T) {
	for _, uas := range []map[string]string{humanUAs, botUAs} {
		for name, ua := range uas {
			d, bot := Classify(ua)
			var buf [512]byte
			want := DeviceBot
			if !IsBot(ua) {
				want = humanDevice(lowerASCII(&buf, ua))
			}
			if d != want || bot != IsBot(ua) || bot != (d == DeviceBot) {
				t.Errorf("Classify(%s) = %s, %v; want %s, %v", name, d, bot, want, IsBot(ua))
			}
		}
	}
}
