package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPI is the hand-kept OpenAPI 3 document; TestOpenAPIMatchesRoutes keeps it true.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(c *gin.Context) { c.Data(http.StatusOK, "application/json", openAPI) }
