// Starts GraphiQL against this origin's /graphql. A file, not an inline script, so
// that the page's Content-Security-Policy can forbid inline code.
(function () {
  "use strict";
  var fetcher = GraphiQL.createFetcher({ url: window.location.origin + "/graphql" });
  var headersTemplate = JSON.stringify({ Authorization: "Bearer <key>" }, null, 2);
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: headersTemplate,
      defaultEditorToolsVisibility: "headers",
      shouldPersistHeaders: false,
      defaultQuery:
        "# Put a key or a customer token in the header below,\n" +
        "# then run with Ctrl-Enter.\n{\n  customers(first: 5) {\n    totalCount\n" +
        "    nodes { id email }\n  }\n}\n",
    })
  );
})();
