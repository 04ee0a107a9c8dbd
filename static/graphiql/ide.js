// The portal's GraphQL IDE: GraphiQL 3.8.3 with React 18.3.1, all served by
// the portal itself (nothing from a CDN). Headers are not persisted, so a
// pasted bearer token stays in this tab.
(function () {
  var url = new URL("/graphql", window.location.href).toString();
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: url }),
      defaultHeaders: '{\n  "Authorization": "Bearer <paste a token from provenance token issue>"\n}',
      shouldPersistHeaders: false,
      isHeadersEditorEnabled: true,
      defaultQuery: "# Paste a bearer token in Headers below, then run:\n{\n  devices(first: 5) {\n    edges { node { gtin serial status } }\n  }\n}\n",
    })
  );
})();
