package auditview

import _ "embed"

// OpenAPI is this package's OpenAPI 3.1 fragment, merged by
// [api.MergeOpenAPI].
//
//go:embed openapi.json
var OpenAPI []byte
