"""Import jobs: an admin tool uploads a file over real multipart HTTP (`importCreate`),
the worker imports it, and `import(id)` shows status, progress and summary; the
error file is downloaded with the same key (docs/import.md, "Import jobs")."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from api import imports
from api.app import create_app
from api.import_jobs import files
from api.settings import Settings
from api.worker import Worker
from domain.access import Role
from domain.clock import FixedClock
from domain.import_jobs import IMPORT_JOBS, JobStatus
from persistence.database import Database
from persistence.unit_of_work import SqlUnitOfWork
from tests.conftest import SUITE_REQUEST_TIMEOUT_MS, GraphQLClient, make_key

CREATE = """
mutation ($input: ImportCreateInput!) {
  importCreate(input: $input) {
    importJob { id kind status awardPoints fileName progress { read imported skipped refused } }
    userErrors { field code message }
  }
}
"""

READ = """
query ($id: ID!) {
  import(id: $id) {
    id kind status attempts fileName errorsUrl error createdAt startedAt finishedAt
    progress { read imported skipped refused }
    summary { read imported skipped refused { reason count } changes { reason count } }
  }
}
"""

# 10 members, 2 of them refused (line 4: a bad phone, line 7: a bad e-mail).
MEMBERS = (
    "会员ID,手机号,邮箱,姓名\n"
    "m-1,13812345671,Ann@Example.com,Ann\n"
    "m-2,13812345672,,Bo\n"
    "m-3,oops,,Cy\n"
    "m-4,,,Di\n"
    "m-5,,,Ed\n"
    "m-6,,not-an-email,Fay\n"
    "m-7,,,Gus\n"
    "m-8,,,Hal\n"
    "m-9,,,Ivy\n"
    "m-10,,,Jo\n"
)
ORDERS = "订单号,会员ID,金额,下单时间\no-1,m-1,¥120,2024/3/5\no-2,m-1,80,2024年3月6日\no-3,nobody,10,2024-03-07\n"


def settings_for(database_url: str, folder: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL": database_url,
        "LOYALTY_ENV": "development",
        "LOYALTY_API_KEY_CACHE_SECONDS": 0,
        "LOYALTY_REQUEST_TIMEOUT_MS": SUITE_REQUEST_TIMEOUT_MS,
        "LOYALTY_IMPORT_DIR": str(folder),
    }
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for(database_url, tmp_path / "imports")


def bearer(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


async def upload(
    http: httpx.AsyncClient,
    key: str,
    name: str,
    content: bytes,
    **fields: object,
) -> httpx.Response:
    """`importCreate` as the GraphQL multipart request spec sends a file."""
    variables = {"input": {"upload": None, **fields}}
    return await http.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": CREATE, "variables": variables}),
            "map": json.dumps({"0": ["variables.input.upload"]}),
        },
        files={"0": (name, content, "text/csv")},
        headers=bearer(key),
    )


async def created(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload = body["data"]["importCreate"]
    assert payload["userErrors"] == []
    return payload["importJob"]


async def run_worker_once(database: Database, settings: Settings, clock: FixedClock) -> None:
    worker = Worker(database, settings, clock=clock, daily=False)
    try:
        await worker.run_once()
    finally:
        await worker.close()


def counts(items: list[dict]) -> dict[str, int]:
    return {i["reason"]: i["count"] for i in items}


async def test_upload_run_by_the_worker_then_read_and_download_errors(
    client, gql, database, settings, clock, admin_key
):
    job = await created(
        await upload(
            client, admin_key, "members.csv", MEMBERS.encode("utf-8-sig"), kind="CUSTOMERS"
        )
    )
    assert job["status"] == "QUEUED"
    assert job["fileName"] == "members.csv"
    assert job["progress"] == {"read": 0, "imported": 0, "skipped": 0, "refused": 0}
    queued = (await gql(READ, {"id": job["id"]}))["import"]
    assert queued["errorsUrl"] is None and queued["startedAt"] is None

    await run_worker_once(database, settings, clock)

    done = (await gql(READ, {"id": job["id"]}))["import"]
    assert done["status"] == "SUCCEEDED", done
    assert done["attempts"] == 1 and done["error"] is None
    assert done["startedAt"] is not None and done["finishedAt"] is not None
    assert done["progress"] == {"read": 10, "imported": 8, "skipped": 0, "refused": 2}
    summary = done["summary"]
    assert (summary["read"], summary["imported"], summary["skipped"]) == (10, 8, 0)
    assert counts(summary["refused"]) == {
        "email: not an e-mail address": 1,
        "phone: not a phone number": 1,
    }
    assert counts(summary["changes"])["phone to E.164"] == 2
    ann = await gql('{ customer(externalId: "m-1") { email phone } }')
    assert ann["customer"] == {"email": "ann@example.com", "phone": "+8613812345671"}

    url = done["errorsUrl"]
    assert url.endswith("/errors.csv")
    response = await client.get(url, headers=bearer(admin_key))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "members.errors.csv" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["line", "reason", "message", "会员ID", "手机号", "邮箱", "姓名"]
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [
        ("4", "phone: not a phone number", "m-3"),
        ("7", "email: not an e-mail address", "m-6"),
    ]

    # The same route refuses a request without the key, and a key without imports:read.
    assert (await client.get(url)).status_code == 401
    analyst = await make_key(database, Role.ANALYST)
    refused = await client.get(url, headers=bearer(analyst))
    assert refused.status_code == 403
    assert "imports:read" in refused.json()["error"]
    assert (
        await client.get("/imports/bm9wZTox/errors.csv", headers=bearer(admin_key))
    ).status_code == 404

    # Orders next, without points; the unknown customer is refused.
    orders = await created(
        await upload(
            client,
            admin_key,
            "orders.csv",
            ORDERS.encode("gb18030"),
            kind="ORDERS",
            awardPoints=False,
        )
    )
    assert orders["awardPoints"] is False
    await run_worker_once(database, settings, clock)
    done = (await gql(READ, {"id": orders["id"]}))["import"]
    assert done["status"] == "SUCCEEDED"
    assert done["progress"] == {"read": 3, "imported": 2, "skipped": 0, "refused": 1}
    assert counts(done["summary"]["refused"]) == {"customer_external_id: NOT_FOUND": 1}
    ann = await gql('{ customer(externalId: "m-1") { ordersCount points { lifetimeEarned } } }')
    assert ann["customer"] == {"ordersCount": 2, "points": {"lifetimeEarned": 0}}

    listed = await gql("{ imports(first: 10) { totalCount nodes { id kind status } } }")
    assert listed["imports"]["totalCount"] == 2
    assert [n["kind"] for n in listed["imports"]["nodes"]] == ["ORDERS", "CUSTOMERS"]

    # The ended jobs' uploads are deleted (personal data nothing reads again); each
    # job's error file stays for errorsUrl.
    folder = Path(settings.import_dir)
    kept = sorted(p.name for p in folder.rglob("*") if p.is_file())  # noqa: ASYNC240
    assert kept == ["errors.csv", "errors.csv"]


async def test_bad_requests_are_user_errors_naming_the_field(client, database, admin_key, tmp_path):
    def errors_of(response: httpx.Response) -> list[dict]:
        assert response.status_code == 200, response.text
        return response.json()["data"]["importCreate"]["userErrors"]

    missing = await upload(
        client, admin_key, "members.csv", b"name,phone\nAnn,138\n", kind="CUSTOMERS"
    )
    [error] = errors_of(missing)
    assert error["field"] == ["input", "upload"]
    assert "external_id" in error["message"]

    mapped = await upload(
        client,
        admin_key,
        "members.csv",
        b"Member,phone\nm-1,138\n",
        kind="CUSTOMERS",
        mapping=[{"column": "Member", "field": "member_no"}],
    )
    [error] = errors_of(mapped)
    assert error["field"] == ["input", "mapping", "0", "field"]

    gql = GraphQLClient(client, admin_key)
    neither = await gql(CREATE, {"input": {"kind": "CUSTOMERS"}})
    assert neither["importCreate"]["userErrors"][0]["field"] == ["input", "upload"]
    nowhere = await gql(CREATE, {"input": {"kind": "CUSTOMERS", "path": str(tmp_path / "no.csv")}})
    assert nowhere["importCreate"]["userErrors"][0]["field"] == ["input", "path"]
    async with SqlUnitOfWork(database) as uow:
        assert await uow.repo(IMPORT_JOBS).get(1) is None  # nothing half-written

    # In development a server-side path is accepted.
    members = tmp_path / "members.csv"
    members.write_text(MEMBERS, encoding="utf-8")
    by_path = await gql(CREATE, {"input": {"kind": "CUSTOMERS", "path": str(members)}})
    assert by_path["importCreate"]["userErrors"] == []
    assert by_path["importCreate"]["importJob"]["fileName"] == "members.csv"

    # A key without imports:write may not create a job.
    analyst = GraphQLClient(client, await make_key(database, Role.ANALYST))
    body = await analyst.raw(CREATE, {"input": {"kind": "CUSTOMERS", "path": str(members)}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# What an XLSX declares to have shared strings (openpyxl writes none for a sheet of
# numbers and inline text): part -> (its closing tag, what goes before it).
SHARED_STRINGS_PARTS = {
    "[Content_Types].xml": (
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>',
    ),
    "xl/_rels/workbook.xml.rels": (
        b"</Relationships>",
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>',
    ),
}


def zip_bomb_xlsx(strings: int) -> bytes:
    """A valid XLSX (a header and one row, as openpyxl writes them) whose shared
    strings are `strings` copies of one 80-letter string: a few KB that inflate a
    hundred times more than any real sheet."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["external_id", "phone"])
    sheet.append(["m-1", "13800138000"])
    written = io.BytesIO()
    book.save(written)
    plain = zipfile.ZipFile(written)
    bomb = io.BytesIO()
    si = b"<si><t>" + b"a" * 80 + b"</t></si>"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for part in plain.infolist():
            data = plain.read(part.filename)
            if part.filename in SHARED_STRINGS_PARTS:
                end, declared = SHARED_STRINGS_PARTS[part.filename]
                data = data.replace(end, declared + end)
            out.writestr(part.filename, data)
        out.writestr(
            "xl/sharedStrings.xml",
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + si * strings
            + b"</sst>",
        )
    return bomb.getvalue()


async def test_an_xlsx_that_inflates_like_a_zip_bomb_is_refused_unread(client, database, admin_key):
    """openpyxl keeps a file's shared strings in memory: a small upload that inflates
    to far more is refused by its parts' declared sizes before anything parses it."""
    bomb = zip_bomb_xlsx(100_000)  # 9 MB of text in 40 KB
    assert len(bomb) < 100_000
    response = await upload(client, admin_key, "members.xlsx", bomb, kind="CUSTOMERS")
    assert response.status_code == 200, response.text
    [error] = response.json()["data"]["importCreate"]["userErrors"]
    assert error["field"] == ["input", "upload"]
    assert error["code"] == "INVALID"
    assert "xl/sharedStrings.xml inflates" in error["message"]
    async with SqlUnitOfWork(database) as uow:
        assert await uow.repo(IMPORT_JOBS).get(1) is None  # nothing half-written

    # A small strings part is read (the ratio is looked at from 1 MB on).
    with zipfile.ZipFile(io.BytesIO(zip_bomb_xlsx(10))) as small:
        assert small.getinfo("xl/sharedStrings.xml").file_size < 1 << 20
    fine = await upload(client, admin_key, "members.xlsx", zip_bomb_xlsx(10), kind="CUSTOMERS")
    assert await created(fine)


def test_an_xlsx_over_the_size_limits_is_refused_by_what_it_would_inflate_to(tmp_path, monkeypatch):
    path = tmp_path / "members.xlsx"
    path.write_bytes(zip_bomb_xlsx(10))
    imports.check_xlsx_parts(path)  # within every limit
    monkeypatch.setattr(imports, "XLSX_STRINGS_MAX", 500)
    with pytest.raises(ValueError, match="text inflates to 0 MB"):
        imports.check_xlsx_parts(path)
    monkeypatch.setattr(imports, "XLSX_TOTAL_MAX", 5_000)
    with pytest.raises(ValueError, match="file inflates to 0 MB"):
        imports.check_xlsx_parts(path)


async def test_a_multipart_request_that_does_not_fit_is_a_400(client, admin_key):
    operations = json.dumps({"query": CREATE, "variables": {"input": {"kind": "CUSTOMERS"}}})
    for files_map, message in [
        ("nope", '"map" is not JSON.'),
        ('{"0": "variables"}', '"map" must map each file to a list of paths.'),
        ('{"1": ["variables.input.upload"]}', '"map" names a file or a path'),
        ('{"0": ["query.x"]}', '"map" names a file or a path'),
    ]:
        response = await client.post(
            "/graphql",
            data={"operations": operations, "map": files_map},
            files={"0": ("m.csv", b"external_id\nm-1\n", "text/csv")},
            headers=bearer(admin_key),
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["message"].startswith(message)
    # An upload sent as a plain value instead of a file part is a userError.
    gql = GraphQLClient(client, admin_key)
    answer = await gql(CREATE, {"input": {"kind": "CUSTOMERS", "upload": "members.csv"}})
    assert answer["importCreate"]["userErrors"][0]["field"] == ["input", "upload"]


async def test_path_is_refused_outside_development(database, database_url, tmp_path):
    settings = settings_for(
        database_url,
        tmp_path / "imports",
        LOYALTY_ENV="production",
        LOYALTY_SECRET_KEY="s" * 40,
    )
    members = tmp_path / "members.csv"
    members.write_text(MEMBERS, encoding="utf-8")
    app = create_app(settings, database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        gql = GraphQLClient(http, await make_key(database, Role.ADMIN))
        answer = await gql(CREATE, {"input": {"kind": "CUSTOMERS", "path": str(members)}})
    [error] = answer["importCreate"]["userErrors"]
    assert error["field"] == ["input", "path"]
    assert "LOYALTY_ENV=development" in error["message"]


async def test_an_upload_over_the_limit_is_refused_with_413(database, database_url, tmp_path):
    settings = settings_for(
        database_url, tmp_path / "imports", LOYALTY_IMPORT_MAX_UPLOAD_BYTES=2_000
    )
    app = create_app(settings, database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        key = await make_key(database, Role.ADMIN)
        small = await upload(http, key, "m.csv", MEMBERS.encode(), kind="CUSTOMERS")
        assert (await created(small))["status"] == "QUEUED"
        big = await upload(http, key, "m.csv", MEMBERS.encode() * 10, kind="CUSTOMERS")
    assert big.status_code == 413
    assert big.json()["errors"][0]["message"] == (
        "Upload over 2000 bytes (LOYALTY_IMPORT_MAX_UPLOAD_BYTES)."
    )


async def test_an_upload_has_its_own_deadline(database, database_url, tmp_path):
    """A 200 ms request deadline; the upload takes longer to arrive, and is stored."""
    settings = settings_for(
        database_url,
        tmp_path / "imports",
        LOYALTY_REQUEST_TIMEOUT_MS=200,
        LOYALTY_STATEMENT_TIMEOUT_MS=0,
        LOYALTY_DB_POOL_TIMEOUT_S=0.1,
    )
    app = create_app(settings, database=database)
    key = await make_key(database, Role.ADMIN)
    request = httpx.Request(
        "POST",
        "http://t/graphql",
        data={
            "operations": json.dumps(
                {"query": CREATE, "variables": {"input": {"kind": "CUSTOMERS", "upload": None}}}
            ),
            "map": json.dumps({"0": ["variables.input.upload"]}),
        },
        files={"0": ("members.csv", MEMBERS.encode(), "text/csv")},
        headers=bearer(key),
    )
    body = request.read()

    async def slowly():  # noqa: ANN202
        for start in range(0, len(body), len(body) // 4 + 1):
            await asyncio.sleep(0.1)
            yield body[start : start + len(body) // 4 + 1]

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        response = await http.post(
            "/graphql",
            content=slowly(),
            headers={**bearer(key), "Content-Type": request.headers["Content-Type"]},
        )
    assert (await created(response))["status"] == "QUEUED"


class Crash(BaseException):
    """The worker's process dies: nothing after this point runs (no release)."""


async def test_an_interrupted_job_is_resumed_by_another_worker_after_its_lease(
    database, settings, admin_key, client, tmp_path
):
    job = await created(
        await upload(client, admin_key, "members.csv", MEMBERS.encode(), kind="CUSTOMERS")
    )
    clock = FixedClock(datetime.now(UTC))
    first = Worker(database, settings, clock=clock, name="first", daily=False)
    first.import_chunk = 4
    save = first.imports.save_progress

    async def dies_after_the_first_chunk(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        await save(*args, **kwargs)
        raise Crash

    first.imports.save_progress = dies_after_the_first_chunk  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await first.run_import_job()
    await first.close()

    engine = Database.connect(database.url)
    second = Worker(engine, settings, clock=clock, name="second", daily=False)
    second.import_chunk = 4
    try:
        gql = GraphQLClient(client, admin_key)
        stopped = (await gql(READ, {"id": job["id"]}))["import"]
        assert stopped["status"] == "RUNNING"
        assert stopped["progress"] == {"read": 4, "imported": 3, "skipped": 0, "refused": 1}

        assert await second.run_import_job() is None  # the first worker's lease still runs
        clock.at += timedelta(seconds=settings.import_lease_s + 1)
        resumed = await second.run_import_job()
        assert resumed is not None and resumed.status is JobStatus.SUCCEEDED
    finally:
        await second.close()
        await engine.dispose()

    done = (await gql(READ, {"id": job["id"]}))["import"]
    assert done["status"] == "SUCCEEDED" and done["attempts"] == 2
    # As one uninterrupted run: every row counted once, each refusal listed once.
    assert done["progress"] == {"read": 10, "imported": 8, "skipped": 0, "refused": 2}
    response = await client.get(done["errorsUrl"], headers=bearer(admin_key))
    lines = response.content.decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines] == ["line", "4", "7"]
    assert not response.content[3:].startswith(b"\xef\xbb\xbf")
    assert response.content.count(b"\xef\xbb\xbf") == 1


async def test_the_running_worker_picks_up_a_queued_job(client, gql, database, settings, admin_key):
    job = await created(
        await upload(client, admin_key, "members.csv", MEMBERS.encode(), kind="CUSTOMERS")
    )
    worker = Worker(database, settings.model_copy(update={"worker_poll_s": 0.05}), daily=False)
    stop = asyncio.Event()
    running = asyncio.ensure_future(worker.run(stop))
    try:
        for _ in range(200):  # at most 10 s
            status = (await gql(READ, {"id": job["id"]}))["import"]["status"]
            if status == "SUCCEEDED":
                break
            await asyncio.sleep(0.05)
        assert status == "SUCCEEDED"
    finally:
        stop.set()
        await running
        await worker.close()
    assert worker.totals.imports == 1


async def test_two_workers_take_two_jobs_one_each(client, gql, database, settings, admin_key):
    if database.is_sqlite:
        pytest.skip("several workers need PostgreSQL (SQLite: one worker, README)")
    for name in ("a.csv", "b.csv"):
        await created(await upload(client, admin_key, name, MEMBERS.encode(), kind="CUSTOMERS"))
    engines = [Database.connect(database.url) for _ in range(2)]
    workers = [Worker(e, settings, name=f"w{i}", daily=False) for i, e in enumerate(engines)]
    try:
        done = await asyncio.gather(*(w.run_import_job() for w in workers))
        assert await workers[0].run_import_job() is None  # nothing left
    finally:
        for worker, engine in zip(workers, engines, strict=True):
            await worker.close()
            await engine.dispose()
    assert all(job is not None and job.status is JobStatus.SUCCEEDED for job in done)
    assert len({job.id for job in done if job}) == 2  # a job each, at the same time
    listed = await gql(
        "{ imports(first: 2) { nodes { attempts progress { read imported skipped refused } } } }"
    )
    nodes = listed["imports"]["nodes"]
    assert [n["attempts"] for n in nodes] == [1, 1]
    # The same ten members twice: each created once, by whichever job wrote it first.
    assert sum(n["progress"]["imported"] for n in nodes) == 8
    assert sum(n["progress"]["skipped"] for n in nodes) == 8
    assert all(n["progress"]["read"] == 10 for n in nodes)


async def test_a_stopping_worker_releases_its_job_for_the_next_at_once(
    client, gql, database, settings, admin_key
):
    job = await created(
        await upload(client, admin_key, "members.csv", MEMBERS.encode(), kind="CUSTOMERS")
    )
    clock = FixedClock(datetime.now(UTC))
    first = Worker(database, settings, clock=clock, name="first", daily=False)
    first.import_chunk = 4
    save = first.imports.save_progress
    saved = asyncio.Event()

    async def hangs_after_the_first_chunk(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        await save(*args, **kwargs)
        saved.set()
        await asyncio.Event().wait()  # until cancelled, as a stopping worker cancels it

    first.imports.save_progress = hangs_after_the_first_chunk  # type: ignore[method-assign]
    running = asyncio.ensure_future(first.run_import_job())
    await saved.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await first.close()

    second = Worker(database, settings, clock=clock, name="second", daily=False)
    try:
        resumed = await second.run_import_job()  # no waiting for the lease: it was ended
    finally:
        await second.close()
    assert resumed is not None and resumed.status is JobStatus.SUCCEEDED
    done = (await gql(READ, {"id": job["id"]}))["import"]
    assert done["attempts"] == 2
    assert done["progress"] == {"read": 10, "imported": 8, "skipped": 0, "refused": 2}


async def test_a_file_the_worker_cannot_read_fails_the_job(
    gql, database, settings, clock, tmp_path
):
    members = tmp_path / "members.csv"
    members.write_text(MEMBERS, encoding="utf-8")
    made = await gql(CREATE, {"input": {"kind": "CUSTOMERS", "path": str(members)}})
    job = made["importCreate"]["importJob"]
    members.unlink()  # gone before the worker came

    await run_worker_once(database, settings, clock)

    failed = (await gql(READ, {"id": job["id"]}))["import"]
    assert failed["status"] == "FAILED"
    assert "No such file" in failed["error"]
    assert failed["finishedAt"] is not None and failed["summary"] is None


@pytest.mark.parametrize(
    ("role", "status"), [(None, 401), ("bad", 401), (Role.ANALYST, 403), ("token", 403)]
)
async def test_an_upload_is_refused_before_its_body_is_read(
    database, database_url, tmp_path, role, status
):
    """Without a key that may create imports the body is never read: a client that
    keeps sending (here, endlessly) gets its answer from the headers alone."""
    app = create_app(settings_for(database_url, tmp_path / "imports"), database=database)
    if role is None:
        key = None
    elif role == "bad":
        key = "lg_not-a-key"
    elif role == "token":
        admin = GraphQLClient(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t"),
            await make_key(database, Role.ADMIN),
        )
        customer = await admin(
            'mutation { customerUpsert(input: {externalId: "c"}) { customer { id } } }'
        )
        created_token = await admin(
            """mutation($id: ID!) { customerTokenCreate(input: {customerId: $id,
                 ttlSeconds: 60}) { token } }""",
            {"id": customer["customerUpsert"]["customer"]["id"]},
        )
        await admin.http.aclose()
        key = created_token["customerTokenCreate"]["token"]
    else:
        key = await make_key(database, role)
    headers = [
        (b"content-type", b"multipart/form-data; boundary=x"),
        (b"host", b"t"),
        *[(k.lower().encode(), v.encode()) for k, v in bearer(key).items()],
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("t", 80),
    }
    chunks_read = 0

    async def receive() -> dict:
        nonlocal chunks_read
        chunks_read += 1
        return {"type": "http.request", "body": b"-" * 65_536, "more_body": True}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), timeout=30)
    assert sent[0]["status"] == status
    assert chunks_read == 0


def test_only_an_upload_in_its_jobs_folder_is_discarded(tmp_path):
    job = tmp_path / "job"
    job.mkdir()
    stored, errors = job / "upload.xlsx", job / "errors.csv"
    operators = tmp_path / "members.csv"  # a server-side path (development)
    for path in (stored, errors, operators):
        path.write_text("x")
    files.discard_upload(operators, errors)
    files.discard_upload(stored, errors)
    files.discard_upload(stored, errors)  # again: already gone, no error
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "errors.csv",
        "members.csv",
    ]
