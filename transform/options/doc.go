// Package options owns the transform-option grammar of /t/<options>/<key>
// URLs and its canonical form.
//
// A URL's <options> segment is a comma-separated list of name_value
// components (w_400,f_webp); the name is the text before the first
// underscore, so values may themselves contain underscores (g_north_east,
// s_ab_c). Parser.Parse turns the segment into an Options struct, expanding
// a t_ preset and letting explicit components override the preset's, and
// rejects anything it does not understand with an *Error that names the
// component. Options.String prints the struct back in one canonical order
// with defaults dropped, so that w_400,f_webp and f_webp,w_400 are the same
// variant: the signature (package sign) is computed over
// Options.Unsigned().String() and the cache key over Options.Variant().String().
//
// The grammar is one table (grammar.go): each option is a row with its
// name, how its value parses and prints, its bounds, the rule that ties it
// to other options, and its role for presets and presets-only mode. Parse,
// Append, Config.Validate and presets-only mode all read the table, so
// adding an option is adding a row.
//
// Every value has exactly one accepted spelling, so the canonical form is
// not only the printed form but the only form that parses to a given
// struct field for field:
//
//   - integers are plain decimal digits with no sign and no leading zero
//     (w_400, never w_0400 or w_+400; x_0 is the one spelling of zero);
//   - decimals (dpr_, the blur sigma) are accepted only as
//     strconv.FormatFloat(v, 'f', -1, 64) prints them: "2.5" and "0.5" but
//     not "2.50", "02", ".5", "2.0", "1e3" or "+2";
//   - dpr_ is one of 1, 1.5, 2, 2.5, 3, 3.5, 4, and dpr_1 (the default)
//     parses to the zero value and is dropped from the canonical form;
//   - b_ takes six hex digits in either case and prints lowercase;
//   - f_jpg parses to JPEG and prints as f_jpeg;
//   - defaults (c_fit, g_center, dpr_1) are accepted and dropped.
//
// Options that would change nothing but the cache key are refused rather
// than silently ignored: g_ without c_fill, c_pad or c_crop, x_/y_ without
// c_crop, and any c_ other than c_fit without w_ or h_.
//
// Two optional guards bound how many variants URLs can ask for (the
// variant-explosion guard): allow-lists of widths and heights, checked
// against the w_ and h_ a URL gives (dpr_ multiplies an allowed value; a
// preset's own values are the operator's and are not checked), and a
// presets-only mode that accepts nothing but t_<preset> with the signing
// fields. Both refuse like any other bad component, with an *Error naming
// it (a 400 at the server), so that 403 keeps meaning a signature problem.
// The allow-lists bound sizes only: q_, e_, b_ and the crop offsets still
// multiply the variants of a signed URL's author, so presets-only is the
// mode that bounds them all.
//
// Layers are the one place where order matters: l_ starts an overlay (an
// image by overlay name or original key, or l_text:<base64url>) and the
// l*_ options after it place and style it, once per layer, at most
// MaxLayers. wm_1 adds the configured watermark after them; Parse adds it
// itself for presets marked +watermark or with Config.WatermarkAll, and it
// prints, so a signature covers it.
//
// The zero Options prints as the empty string. Parse refuses an empty
// string with ErrEmpty because a URL path segment cannot be empty; callers
// that may hold a zero Options (c_fit alone, dpr_1 alone) check IsZero.
package options
