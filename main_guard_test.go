package main

import (
	"bytes"
	"flag"
	"reflect"
	"strings"
	"testing"
)

// The variant-explosion guard's settings: listed by -h, read from the
// environment and flags, refused when malformed, and honoured by `pictor
// sign`, so that it never prints a URL the server would refuse.
func TestGuardSettings(t *testing.T) {
	var help bytes.Buffer
	if _, _, err := load("serve", []string{"-h"}, &help); err != flag.ErrHelp {
		t.Fatalf("-h: %v", err)
	}
	for _, v := range []string{"PICTOR_ALLOWED_WIDTHS", "PICTOR_ALLOWED_HEIGHTS", "PICTOR_PRESETS_ONLY", "-allowed-widths", "-allowed-heights", "-presets-only"} {
		if !strings.Contains(help.String(), v) {
			t.Errorf("-h does not list %s", v)
		}
	}

	t.Setenv("PICTOR_ALLOWED_WIDTHS", "1920, 320,640")
	t.Setenv("PICTOR_PRESETS_ONLY", "on")
	c, _, err := load("serve", []string{"-allowed-heights", "200,100", "-presets", "thumb:w_200"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{320, 640, 1920}; !reflect.DeepEqual(c.app.Options.AllowedWidths, want) {
		t.Errorf("AllowedWidths = %v, want %v", c.app.Options.AllowedWidths, want)
	}
	if want := []int{100, 200}; !reflect.DeepEqual(c.app.Options.AllowedHeights, want) {
		t.Errorf("AllowedHeights = %v, want %v", c.app.Options.AllowedHeights, want)
	}
	if !c.app.Options.PresetsOnly {
		t.Error("PICTOR_PRESETS_ONLY=on not applied")
	}
	if err := c.app.Options.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}

	for _, tt := range []struct{ env, val string }{
		{"PICTOR_ALLOWED_WIDTHS", "320,wide"},
		{"PICTOR_ALLOWED_HEIGHTS", "0"},
		{"PICTOR_PRESETS_ONLY", "maybe"},
	} {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv(tt.env, tt.val)
			if _, _, err := load("serve", nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tt.env) {
				t.Errorf("%s=%q: load = %v, want an error naming it", tt.env, tt.val, err)
			}
		})
	}
}

func TestSignHonoursGuards(t *testing.T) {
	t.Setenv("PICTOR_SIGNING_KEYS", "k1:0123456789abcdef0123")
	t.Setenv("PICTOR_ALLOWED_WIDTHS", "320,640")
	key := strings.Repeat("ab", 32) + ".jpg"
	var out bytes.Buffer
	if err := signCmd([]string{"/t/w_640/" + key}, &out); err != nil || !strings.HasPrefix(out.String(), "/t/w_640,s_") {
		t.Errorf("sign w_640 = %q, %v", out.String(), err)
	}
	if err := signCmd([]string{"/t/w_641/" + key}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "not an allowed width") {
		t.Errorf("sign w_641 = %v, want the allow-list's refusal", err)
	}
	// A srcset without ?w= takes the allow-list as its widths.
	out.Reset()
	if err := signCmd([]string{"/srcset/f_webp/" + key}, &out); err != nil || !strings.HasSuffix(strings.TrimSpace(out.String()), "?w=320,640") {
		t.Errorf("sign srcset = %q, %v; want ?w=320,640", out.String(), err)
	}
	if err := signCmd([]string{"/srcset/f_webp/" + key + "?w=320,700"}, &bytes.Buffer{}); err == nil {
		t.Error("sign srcset ?w=320,700 succeeded, want the allow-list's refusal")
	}

	t.Setenv("PICTOR_PRESETS_ONLY", "on")
	t.Setenv("PICTOR_PRESETS", "card:w_640,f_webp")
	out.Reset()
	// The URL keeps t_card: the expanded form would be refused.
	if err := signCmd([]string{"/t/t_card/" + key}, &out); err != nil || !strings.HasPrefix(out.String(), "/t/t_card,s_") {
		t.Errorf("sign t_card in presets-only mode = %q, %v; want /t/t_card,s_…", out.String(), err)
	}
	out.Reset()
	if err := signCmd([]string{"/t/kid_k1,t_card,exp_4000000000/" + key}, &out); err != nil || !strings.HasPrefix(out.String(), "/t/t_card,exp_4000000000,kid_k1,s_") {
		t.Errorf("sign t_card with exp_ and kid_ = %q, %v", out.String(), err)
	}
	for _, bad := range []string{"/t/w_640/" + key, "/t/t_card,q_50/" + key, "/srcset/t_card/" + key} {
		if err := signCmd([]string{bad}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "presets-only") {
			t.Errorf("sign %s in presets-only mode = %v, want a presets-only refusal", bad, err)
		}
	}
}
