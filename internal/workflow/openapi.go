package workflow

import _ "embed"

// OpenAPI is this package's OpenAPI 3.1 fragment: the document and
// envelope paths and their schemas, merged by [api.MergeOpenAPI].
//
//go:embed openapi.json
var OpenAPI []byte
