"""The worker's HTTP transport for webhooks (the `WebhookSender` port), on httpx.

- One POST per attempt, with a per-request timeout (connect, write, read and an
  overall deadline), so a slow receiver costs one slot for at most that long.
- Redirects are never followed: a 3xx is a failed attempt like any non-2xx.
- The response body is read only up to `read_limit` bytes (for the error text).
- Production (the SSRF guard): the host is resolved here, every address it resolves
  to is checked (private, loopback, link-local, multicast, reserved or unspecified
  refuses the whole host), and the connection goes to the checked address itself,
  with the original Host header and TLS server name, so a DNS answer that changes
  between the check and the connection cannot redirect it. In development the guard
  is off: receivers on loopback are the point there.
"""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit, urlunsplit

import httpx

from domain.webhooks import AttemptResult, forbidden_address

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_READ_LIMIT = 2048
USER_AGENT = "LoyaltyGraph-Webhooks/1"


class RefusedAddress(Exception):
    pass


class HttpSender:
    def __init__(
        self,
        *,
        production: bool,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        read_limit: int = DEFAULT_READ_LIMIT,
        max_connections: int = 100,
    ) -> None:
        self.production = production
        self.timeout_s = timeout_s
        self.read_limit = read_limit
        self.client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: it would bypass the guard
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=max_connections),
            headers={"user-agent": USER_AGENT},
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> AttemptResult:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._post(url, headers, body)
        except TimeoutError:
            return AttemptResult(error=f"timeout after {self.timeout_s:g} s")
        except RefusedAddress as exc:
            return AttemptResult(error=f"refused address: {exc}")
        except httpx.TimeoutException:
            return AttemptResult(error=f"timeout after {self.timeout_s:g} s")
        except httpx.HTTPError as exc:
            return AttemptResult(error=f"connection error: {type(exc).__name__}: {exc}")
        except OSError as exc:
            return AttemptResult(error=f"connection error: {exc}")

    async def _post(self, url: str, headers: dict[str, str], body: bytes) -> AttemptResult:
        target, headers, extensions = await self._target(url, headers)
        request = self.client.build_request(
            "POST", target, content=body, headers=headers, extensions=extensions
        )
        response = await self.client.send(request, stream=True)
        try:
            snippet = b""
            async for chunk in response.aiter_raw():
                snippet += chunk[: self.read_limit - len(snippet)]
                if len(snippet) >= self.read_limit:
                    break
        finally:
            await response.aclose()
        if 200 <= response.status_code < 300:
            return AttemptResult(status_code=response.status_code)
        text = snippet.decode("utf-8", "replace").strip()
        error = f"HTTP {response.status_code}" + (f": {text[:200]}" if text else "")
        return AttemptResult(status_code=response.status_code, error=error)

    async def _target(
        self, url: str, headers: dict[str, str]
    ) -> tuple[str, dict[str, str], dict[str, object]]:
        """The URL to connect to: in production, the checked address of the host."""
        if not self.production:
            return url, headers, {}
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if parts.scheme != "https":
            raise RefusedAddress("only https is sent to in production")
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [str(info[4][0]) for info in infos]
        if not addresses:
            raise RefusedAddress(f"{host} resolves to no address")
        for address in addresses:
            if forbidden_address(address):
                raise RefusedAddress(f"{host} resolves to {address}, which is not public")
        address = addresses[0]
        literal = f"[{address}]" if ":" in address else address
        target = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
        netloc = parts.netloc.rsplit("@", 1)[-1]
        return target, {**headers, "host": netloc}, {"sni_hostname": host}
