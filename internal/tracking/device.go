package tracking

import "bytes"

// Device is the class of device a click came from, for reports.
type Device string

// Device classes.
const (
	DeviceDesktop Device = "desktop"
	DeviceMobile  Device = "mobile"
	DeviceTablet  Device = "tablet"
	DeviceBot     Device = "bot"
	DeviceUnknown Device = "unknown"
)

// DeviceOf classifies a User-Agent. It is a report dimension, not a
// fingerprint: a handful of well-known tokens, checked in an order where
// the more specific wins (an Android tablet says "Android" without
// "Mobile"; a Windows phone also says "Windows").
//
// iPads on iPadOS 13 and later send the desktop Safari User-Agent by
// default, so they count as desktop: only client hints or script could
// tell, and the redirect sees neither.
func DeviceOf(userAgent string) Device {
	d, _ := Classify(userAgent)
	return d
}

// Classify returns DeviceOf(userAgent) and IsBot(userAgent), lower-casing
// the text once for both: the redirect needs the two for every click.
func Classify(userAgent string) (Device, bool) {
	var buf [512]byte
	ua := lowerASCII(&buf, userAgent)
	if isBot(ua) {
		return DeviceBot, true
	}
	return humanDevice(ua), false
}

func humanDevice(ua []byte) Device {
	has := func(s string) bool { return bytes.Contains(ua, []byte(s)) }
	switch {
	case has("ipad") || has("tablet") || has("kindle") || has("silk/") || has("playbook"):
		return DeviceTablet
	case has("iphone") || has("ipod") || has("windows phone") || has("iemobile") ||
		has("blackberry") || has("bb10") || has("opera mini") || has("mobile"):
		return DeviceMobile
	case has("android"):
		// Android without "Mobile" is a tablet (Google's own guidance).
		return DeviceTablet
	case has("windows nt") || has("macintosh") || has("mac os x") || has("cros") ||
		has("x11") || has("linux"):
		return DeviceDesktop
	}
	return DeviceUnknown
}
