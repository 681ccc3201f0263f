package server

// The tests of the whole server live in package server_test, which builds
// it through app.New as main does (package server cannot import app: app
// imports server). This file is all they reach of the edge's insides: the
// Go shapes of its JSON answers, to decode them as the handlers encode
// them; the upload route's envelope allowance, which the fuzz oracle must
// know to predict a 413; and the one count no answer or metric shows.

type (
	UploadResponse = uploadResponse
	InfoResponse   = infoResponse
	SrcsetResponse = srcsetResponse
	ErrorBody      = errorBody
)

// MultipartSlack is what a multipart envelope may add to MaxUploadBytes.
const MultipartSlack = multipartSlack

// VariantCallers is how many requests wait on the one pipeline run that
// renders vkey: how a test knows that identical requests have collapsed.
func (s *Server) VariantCallers(vkey string) int { return s.inflightVariants.Callers(vkey) }
