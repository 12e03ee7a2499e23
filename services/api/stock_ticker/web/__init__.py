"""HTTP: routes, handlers, schemas, middlewares, problem details and the API docs."""
