// The one door to the server: POST /graphql with the session's key.
// Nothing else is called, so every screen is also an example of the public API.

const KEY = "loyalty.console.key";

export function savedKey() {
  return sessionStorage.getItem(KEY);
}

export function keepKey(secret) {
  sessionStorage.setItem(KEY, secret);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

export async function gql(query, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      Authorization: `Bearer ${savedKey() || ""}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`HTTP ${response.status}`, "HTTP");
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    const code = (first.extensions && first.extensions.code) || "ERROR";
    throw new ApiError(first.message, code);
  }
  return body.data;
}
