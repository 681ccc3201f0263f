package server

import (
	"strings"
	"time"

	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
)

// eagerAccepts are the Accept headers an f_auto variant is made for
// eagerly: what browsers that take AVIF, WebP or neither send.
var eagerAccepts = [][]byte{[]byte("image/avif,image/webp,*/*"), []byte("image/webp,*/*"), nil}

// maxEager bounds the variants one upload may ask for.
const maxEager = 16

// eagerVariant is one variant an upload asks to have made: its options
// and the options string it was asked for with, from which its URL is
// written (see sign.Signer.VariantPath).
type eagerVariant struct {
	opts options.Options
	raw  string
}

// eagerList parses the upload's eager= parameters (Cloudinary style: one
// option string per variant, variants separated by "|", the parameter may
// repeat) and adds the presets configured as eager. It runs before the
// body is read, so a bad list costs the client nothing. The parser's
// guards apply as to any URL: in presets-only mode only t_<name> entries
// pass.
func (s *Server) eagerList(args [][]byte) ([]eagerVariant, error) {
	var list []eagerVariant
	for _, arg := range args {
		for _, raw := range strings.Split(string(arg), "|") {
			if raw == "" {
				continue
			}
			o, err := s.Parser.Parse(raw)
			if err != nil {
				return nil, err
			}
			list = append(list, eagerVariant{o.Variant(), raw})
		}
	}
	for _, p := range s.Parser.Presets() {
		if p.Eager {
			o, err := s.Parser.Parse("t_" + p.Name)
			if err != nil {
				return nil, err
			}
			list = append(list, eagerVariant{o.Variant(), "t_" + p.Name})
		}
	}
	if len(list) > maxEager {
		return nil, &options.Error{Option: "eager", Reason: "at most 16 eager variants per upload"}
	}
	return list, nil
}

// startEager makes the eager variants of a new original in the background,
// all from one decode, and returns their URL paths (signed when signing is
// on). An f_auto variant is made once per format a browser may negotiate.
// The work goes through the same admission as requests: when the queue is
// full it is dropped, and the variants are made on first request instead.
func (s *Server) startEager(key string, list []eagerVariant) []string {
	if len(list) == 0 {
		return nil
	}
	src, _ := format.FromKey(key)
	var (
		paths []string
		jobs  []variantJob
	)
	seen := make(map[string]bool)
	for _, v := range list {
		o := v.opts
		path, err := s.Signer.VariantPath(s.Parser, v.raw, o, key)
		if err != nil {
			s.Logger.Warn("eager: cannot sign", "options", o.String(), "err", err)
			continue
		}
		paths = append(paths, path)
		// w_auto and dpr_auto are made as a request without hints gets
		// them: the fallback width at ratio 1.
		o, _ = s.Processor.ResolveHints(o, transform.Hints{}, s.allowedWidths)
		accepts := eagerAccepts[2:]
		if o.FormatAuto {
			accepts = eagerAccepts
		}
		for _, acc := range accepts {
			out := transform.Negotiate(o, src, acc, false)
			vk := transform.VariantKey(o, key, out)
			if seen[vk] {
				continue
			}
			seen[vk] = true
			jobs = append(jobs, variantJob{vk, transform.Request{Options: o, Output: out}})
		}
	}
	if s.Variants == nil || len(jobs) == 0 {
		return paths
	}
	s.inflight.Add(1)
	go func() {
		defer s.inflight.Done()
		es, err := s.render(time.Now().Add(s.cfg.Timeout), key, jobs)
		if err != nil {
			s.Logger.Warn("eager variants not made", "key", key, "variants", len(jobs), "err", err)
			return
		}
		s.Logger.Debug("eager variants made", "key", key, "variants", len(es))
	}()
	return paths
}
