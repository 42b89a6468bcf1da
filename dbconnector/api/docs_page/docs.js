// Swagger UI over this service's own OpenAPI document; a file, not an inline script, so the
// page's Content-Security-Policy can allow scripts from this origin alone.
window.ui = SwaggerUIBundle({
  url: "/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
  tryItOutEnabled: false,
  validatorUrl: null,
  layout: "BaseLayout",
});
