"""`ponder serve`: an HTTP server in the shape of the OpenAI Images API (docs/serving.md).

    ponder-serve --port 8000                  # or: python -m ponder serve --port 8000
    curl -s localhost:8000/v1/images/generations -H 'Content-Type: application/json' \\
         -d '{"prompt": "a red circle", "seed": 1}'

Routes: POST /v1/images/generations (JSON), POST /v1/images/edits (multipart: a region
redraw, docs/canvas.md), POST /v1/images/describe (multipart: picture → plan), GET
/v1/models, GET /v1/models/{id}, GET /health. Errors come in the OpenAI error shape
{"error": {"message", "type", "param", "code"}} with the library's message.

One model is loaded once; each image is drawn on a worker thread (never on the event loop)
in a session of its own, at most `workers` at a time, each session with `threads` threads.
At most `queue` images wait beyond the ones being drawn; a request that would pass that is
answered 503 with Retry-After. A client that disconnects has its drawing stopped between
two tokens. Needs the `serve` extra: pip install "ponder[serve]".
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hmac
import io
import json
import logging
import math
import os
import secrets
import signal
import socket
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

try:
    from fastapi import FastAPI, File, Form, Request, UploadFile
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr
    from starlette.exceptions import HTTPException as StarletteHTTPException
except ImportError as _missing:  # the module is importable for its docs; serving needs the extra
    raise ImportError(f'ponder serve needs the "serve" extra ({_missing.name} is missing): '
                      'pip install "ponder[serve]"') from None

import ponder

SEED_MAX = 2 ** 64 - 1
RANDOM_SEED_MAX = 2 ** 32 - 1  # as the CLI's --seed random: short enough to copy
ACCESS_LOG = "ponder.serve.access"


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class Settings:
    """What `ponder serve` runs with; every field is a command-line option."""
    model_path: Optional[str] = None       # None: the default model (ponder.default_model_path())
    model_name: Optional[str] = None       # the id in /v1/models; None: the file name less ".gguf" and "-q8_0"
    workers: int = 0                       # images drawn at once; 0: one per core
    threads: int = 0                       # threads of each session; 0: cores / workers, at least 1
    queue: int = 32                        # images that may wait beyond the ones being drawn
    max_n: int = 8                         # images one request may ask for
    max_request_bytes: int = 1 << 20       # the largest request body
    api_key: Optional[str] = None          # when set, every route but /health needs "Authorization: Bearer KEY"

    def resolved(self) -> "Settings":
        cores = available_cores()
        s = Settings(**self.__dict__)
        s.workers = s.workers or cores
        s.threads = s.threads or max(1, cores // s.workers)
        for name, lo in (("workers", 1), ("threads", 1), ("queue", 0), ("max_n", 1), ("max_request_bytes", 1024)):
            if getattr(s, name) < lo:
                raise ValueError(f"{name.replace('_', '-')} must be at least {lo}, got {getattr(s, name)}")
        if s.max_n > s.workers + s.queue:
            raise ValueError(f"max-n {s.max_n} is more than workers + queue ({s.workers + s.queue}): "
                             "such a request could never be taken")
        return s


# --- errors in the OpenAI shape -----------------------------------------------------------


class APIError(Exception):
    """An answer in the OpenAI error shape: {"error": {"message", "type", "param", "code"}}."""

    def __init__(self, status: int, message: str, param: Optional[str] = None, code: Optional[str] = None,
                 kind: Optional[str] = None, headers: Optional[dict] = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.headers = status, message, param, code, headers
        self.kind = kind or ("invalid_request_error" if status < 500 else "server_error")

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, self.param, self.code, self.kind, self.headers)


def error_response(status, message, param=None, code=None, kind=None, headers=None) -> JSONResponse:
    kind = kind or ("invalid_request_error" if status < 500 else "server_error")
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}},
                        status_code=status, headers=headers)


# The library's statuses that are the caller's fault; the rest are the server's.
_CLIENT_STATUSES = {"bad prompt", "bad plan", "invalid argument", "unsupported", "wrong state", "buffer too small"}


def library_error(e: ponder.PonderError, param: Optional[str] = None) -> APIError:
    if e.status in _CLIENT_STATUSES:
        return APIError(400, str(e), param, e.status.replace(" ", "_"))
    if e.status == "out of memory":
        return APIError(503, str(e), None, "out_of_memory", headers={"Retry-After": "1"})
    return APIError(500, str(e), None, e.status.replace(" ", "_"))


# --- the engine: one model, worker threads, a bounded queue --------------------------------


class Busy(Exception):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after


class Engine:
    """One loaded model and the worker threads that draw on it. Admission is counted in
    images: at most workers + queue are taken at once; the rest are refused (Busy) at once
    rather than left to wait without bound."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.model = ponder.Model(settings.model_path)
        self.capacity = settings.workers + settings.queue
        self._executor = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="ponder-worker")
        self._lock = threading.Lock()
        self.taken = 0          # images admitted and not finished
        self.running = 0        # images being drawn now
        self.served = 0         # images finished
        self.cancelled = 0      # images stopped (client gone, shutdown) before or while drawing
        self.rejected = 0       # requests answered 503
        self._seconds = 1.0     # running mean of an image's time, for Retry-After
        self._cancels: set[threading.Event] = set()
        self.stopping = False
        # A prompt is checked on the event loop before it is queued (a parse, microseconds):
        # a bad prompt is a 400 even when the queue is full. Only the loop's thread uses it.
        self._parser = self.model.session(think=False, check=0, threads=1)

    def check_prompt(self, prompt: str) -> None:
        try:
            self._parser.plan(prompt)
        except ponder.PonderError as e:
            raise library_error(e, "prompt") from None

    def admit(self, n: int) -> None:
        with self._lock:
            if self.stopping or self.taken + n > self.capacity:
                self.rejected += 1
                wait = (self.taken + n - self.capacity) * self._seconds / self.settings.workers
                raise Busy(max(1, math.ceil(wait)))
            self.taken += n

    def release(self, n: int) -> None:
        with self._lock:
            self.taken -= n

    async def run(self, jobs: list[Callable[[threading.Event], Any]], disconnected: Callable[[], Any]) -> list:
        """Runs each job(cancel) on a worker thread; the images were admitted. Stops them all
        (cancel set: a job not started does not start, a drawing stops between two tokens)
        when `disconnected()` turns true, or when this coroutine is cancelled (server
        shutdown past its timeout). Returns the jobs' results, or raises ClientGone."""
        loop = asyncio.get_running_loop()
        cancel = threading.Event()
        self._cancels.add(cancel)
        futures = [loop.run_in_executor(self._executor, self._job, job, cancel) for job in jobs]
        everything = asyncio.gather(*futures, return_exceptions=True)
        try:
            while True:
                done, _ = await asyncio.wait({everything}, timeout=0.05)
                if done:
                    break
                if await disconnected():
                    cancel.set()
                    await asyncio.shield(everything)
                    raise ClientGone()
            results = everything.result()
        except asyncio.CancelledError:
            cancel.set()
            raise
        finally:
            self._cancels.discard(cancel)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return results

    def _job(self, job, cancel: threading.Event):
        try:
            if cancel.is_set():
                with self._lock:
                    self.cancelled += 1
                return None
            with self._lock:
                self.running += 1
            start = time.monotonic()
            try:
                result = job(cancel)
            finally:
                seconds = time.monotonic() - start
                with self._lock:
                    self.running -= 1
                    self._seconds = 0.8 * self._seconds + 0.2 * seconds
            with self._lock:
                if cancel.is_set():
                    self.cancelled += 1
                else:
                    self.served += 1
            return result
        finally:
            self.release(1)

    def stats(self) -> dict:
        with self._lock:
            return {"workers": self.settings.workers, "threads": self.settings.threads, "capacity": self.capacity,
                    "running": self.running, "queued": self.taken - self.running, "served": self.served,
                    "cancelled": self.cancelled, "rejected": self.rejected}

    def stop(self) -> None:
        """Nothing new is taken; what is still running is stopped between two tokens."""
        self.stopping = True
        for cancel in list(self._cancels):
            cancel.set()

    def close(self) -> None:
        """stop(), then waits for the worker threads and frees the model."""
        self.stop()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._parser.close()
        self.model.close()


class ClientGone(Exception):
    pass


# --- requests ---------------------------------------------------------------------------


class GenerationRequest(BaseModel):
    """The OpenAI Images API's create-image body, plus Ponder's own fields at the top level."""
    model_config = ConfigDict(extra="forbid")
    prompt: StrictStr
    model: Optional[StrictStr] = None
    n: StrictInt = 1
    size: Optional[StrictStr] = None
    response_format: Optional[StrictStr] = None
    output_format: Optional[StrictStr] = None
    quality: Optional[StrictStr] = None     # taken and ignored: one quality
    style: Optional[StrictStr] = None       # taken and ignored: one style
    user: Optional[StrictStr] = None        # taken and logged
    # Ponder's own
    seed: Optional[StrictInt] = Field(None, ge=0, le=SEED_MAX)
    think: StrictBool = True
    cfg: Optional[Union[StrictFloat, StrictInt]] = None
    check: Optional[StrictInt] = Field(None, ge=0, le=16)
    plan_attempts: Optional[StrictInt] = Field(None, ge=1, le=64)


def make_app(settings: Settings, engine: Optional[Engine] = None) -> FastAPI:
    """The ASGI application. The model is loaded when the app starts (its lifespan), unless
    an `engine` is given, which the caller then owns."""
    settings = settings.resolved()
    access = logging.getLogger(ACCESS_LOG)

    @asynccontextmanager
    async def lifespan(app):
        own = engine is None
        app.state.engine = engine or Engine(settings)
        infos["info"] = app.state.engine.model.info
        try:
            infos["created"] = int(os.path.getmtime(settings.model_path or ponder.default_model_path()))
        except OSError:
            infos["created"] = 0
        try:
            yield
        finally:
            if own:
                await asyncio.get_running_loop().run_in_executor(None, app.state.engine.close)
            else:
                app.state.engine.stop()

    app = FastAPI(title="Ponder", version=ponder_version(), lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    model_id = settings.model_name or default_model_name(settings.model_path)

    def eng(request: Request) -> Engine:
        return request.app.state.engine

    @app.exception_handler(APIError)
    async def on_api_error(request, e: APIError):
        return e.response()

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request, e: RequestValidationError):
        first = e.errors()[0]
        where = [str(p) for p in first.get("loc", ()) if p not in ("body",)]
        param = ".".join(where) or None
        message = first.get("msg", "invalid request")
        if first.get("type") in ("json_invalid", "model_attributes_type") or (param is None and first.get("type") == "missing"):
            message, param = "the body must be a JSON object (Content-Type: application/json)", None
        elif first.get("type") == "extra_forbidden":
            message = f"unknown field '{param}'"
        elif first.get("type") == "missing":
            message = f"'{param}' is required"
        elif param and first.get("type") not in ("json_invalid",):
            message = f"'{param}': {message}, got {json.dumps(first.get('input'), default=str)[:80]}"
        return error_response(400, message, param, first.get("type"))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request, e: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code)
        return error_response(e.status_code, f"{request.method} {request.url.path}: {e.detail}", None, code)

    def check_common(model: Optional[str], n: int, size: Optional[str], response_format: Optional[str]):
        if model is not None and model != model_id:
            raise APIError(404, f"the model '{model}' does not exist; this server has '{model_id}'", "model",
                           "model_not_found")
        info = eng_info()
        supported = f"{info['image_width']}x{info['image_height']}"
        if size is not None and size != supported:
            raise APIError(400, f"size '{size}' is not supported; the one size is '{supported}'", "size",
                           "unsupported_size")
        if response_format is not None and response_format != "b64_json":
            raise APIError(400, f"response_format '{response_format}' is not supported; use 'b64_json' "
                           "(this server keeps no files to link to)", "response_format")
        if not 1 <= n <= settings.max_n:
            raise APIError(400, f"n {n} is out of range: this server draws 1 to {settings.max_n} images a request",
                           "n", "n_out_of_range")

    infos: dict = {}

    def eng_info():
        return infos["info"]

    async def draw(request: Request, n: int, seed: Optional[int], job_for_seed) -> list:
        engine_ = eng(request)
        if seed is not None and seed + n - 1 > SEED_MAX:
            raise APIError(400, f"seed {seed} with n {n} passes the largest seed {SEED_MAX}", "seed")
        first = seed if seed is not None else secrets.randbelow(RANDOM_SEED_MAX + 1)
        seeds = [first + i for i in range(n)]
        request.state.log.update(n=n, seeds=seeds)
        try:
            engine_.admit(n)
        except Busy as b:
            raise APIError(503, f"the server is busy ({engine_.capacity} images taken at once); retry after "
                           f"{b.retry_after} s", None, "server_busy", headers={"Retry-After": str(b.retry_after)})
        start = time.monotonic()
        try:
            results = await engine_.run([job_for_seed(s) for s in seeds], request.is_disconnected)
        except ClientGone:
            request.state.log["cancelled"] = True
            raise APIError(499, "the client closed the request", None, "client_closed_request")
        except asyncio.CancelledError:
            request.state.log["cancelled"] = True
            raise
        except ponder.PonderError as e:
            raise library_error(e) from None
        finally:
            request.state.log["draw_ms"] = round((time.monotonic() - start) * 1000, 1)
        return list(zip(seeds, results))

    @app.post("/v1/images/generations")
    async def generations(body: GenerationRequest, request: Request):
        check_common(body.model, body.n, body.size, body.response_format)
        if body.output_format not in (None, "png"):
            raise APIError(400, f"output_format '{body.output_format}' is not supported; the images are PNG",
                           "output_format")
        engine_ = eng(request)
        engine_.check_prompt(body.prompt)
        if body.user:
            request.state.log["user"] = body.user

        def job_for_seed(seed):
            def job(cancel: threading.Event):
                kwargs = {} if body.plan_attempts is None else {"plan_attempts": body.plan_attempts}
                image = engine_.model.generate(body.prompt, seed=seed, think=body.think, cfg=body.cfg,
                                               check=body.check, threads=settings.threads, step_size=1,
                                               on_step=lambda done, total: not cancel.is_set(), **kwargs)
                return None if image.cancelled else image
            return job

        drawn = await draw(request, body.n, body.seed, job_for_seed)
        return {"created": int(time.time()),
                "data": [{"b64_json": base64.b64encode(image.png()).decode("ascii"), "revised_prompt": image.plan,
                          "seed": seed, "plan_satisfied": image.plan_satisfied} for seed, image in drawn]}

    async def read_picture(upload: Optional[UploadFile], what: str) -> bytes:
        if upload is None or isinstance(upload, str):
            raise APIError(400, f"'{what}' must be a file (a PNG) in the multipart body", what)
        return await upload.read()

    def picture(data: bytes, what: str) -> ponder.Image:
        try:
            image = ponder.Image.from_png(data)
        except ponder.PonderError as e:
            raise APIError(400, f"{what}: {e}", what, "invalid_image") from None
        info = eng_info()
        if (image.width, image.height) != (info["image_width"], info["image_height"]):
            raise APIError(400, f"{what} is {image.width}x{image.height}; the model reads "
                           f"{info['image_width']}x{info['image_height']} pictures", what, "invalid_image_size")
        return image

    @app.post("/v1/images/edits")
    async def edits(request: Request, image: UploadFile = File(None), prompt: str = Form(""),
                    mask: Optional[UploadFile] = File(None), box: Optional[str] = Form(None),
                    model: Optional[str] = Form(None), n: int = Form(1), size: Optional[str] = Form(None),
                    response_format: Optional[str] = Form(None), seed: Optional[int] = Form(None),
                    check: Optional[int] = Form(None), image_plan: Optional[str] = Form(None),
                    user: Optional[str] = Form(None)):
        check_common(model, n, size, response_format)
        source = picture(await read_picture(image, "image"), "image")
        if (mask is None) == (box is None):
            raise APIError(400, "give the region to redraw as a 'mask' (a PNG whose fully transparent pixels "
                           "mark it) or as a 'box' (x0,y0,x1,y1), one of the two", "mask")
        region = parse_box(box) if box is not None else mask_box(await read_picture(mask, "mask"), source)
        if seed is not None and not 0 <= seed <= SEED_MAX:
            raise APIError(400, f"seed {seed} is out of range (0 to {SEED_MAX})", "seed")
        phrase = prompt.strip() or None  # no phrase: the region is cleared to the background
        engine_ = eng(request)
        request.state.log["box"] = list(region)

        def job_for_seed(s):
            def job(cancel):
                # A redraw is one library call without a progress callback: a cancel stops it
                # only before it starts.
                return engine_.model.redraw(source, region, phrase, seed=s, image_plan=image_plan, check=check,
                                            threads=settings.threads)
            return job

        drawn = await draw(request, n, seed, job_for_seed)
        return {"created": int(time.time()),
                "data": [{"b64_json": base64.b64encode(im.png()).decode("ascii"), "revised_prompt": im.plan,
                          "seed": s} for s, im in drawn]}

    @app.post("/v1/images/describe")
    async def describe(request: Request, image: UploadFile = File(None), model: Optional[str] = Form(None)):
        check_common(model, 1, None, None)
        source = picture(await read_picture(image, "image"), "image")
        engine_ = eng(request)
        if not engine_.model.can_read_images:
            raise APIError(400, f"the model '{model_id}' cannot read pictures (it has no image encoder)", "model",
                           "unsupported")
        [(_, plan)] = await draw(request, 1, 0, lambda s: lambda cancel: engine_.model.describe(
            source, threads=settings.threads))
        return {"created": int(time.time()), "plan": plan}

    def model_card():
        return {"id": model_id, "object": "model", "created": infos["created"], "owned_by": "ponder"}

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{name}")
    async def one_model(name: str):
        if name != model_id:
            raise APIError(404, f"the model '{name}' does not exist; this server has '{model_id}'", "model",
                           "model_not_found")
        return model_card()

    @app.get("/health")
    async def health(request: Request):
        engine_ = eng(request)
        return {"status": "stopping" if engine_.stopping else "ok", "model": model_id, **engine_.stats()}

    return Guard(app, settings, access)


def parse_box(text: str) -> tuple:
    parts = text.replace(" ", "").split(",")
    try:
        if len(parts) != 4:
            raise ValueError
        return tuple(int(p) for p in parts)
    except ValueError:
        raise APIError(400, f"box '{text[:60]}' is not four integers x0,y0,x1,y1 (pixels, x0 <= x < x1)",
                       "box") from None


def mask_box(data: bytes, image: ponder.Image) -> tuple:
    """The bounding box (x0, y0, x1, y1; x1, y1 exclusive) of a mask's fully transparent
    pixels: the OpenAI edits API marks the part to change that way."""
    from PIL import Image as PILImage, UnidentifiedImageError
    try:
        mask = PILImage.open(io.BytesIO(data))
        mask.load()
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise APIError(400, f"mask: not a readable PNG ({e})", "mask", "invalid_image") from None
    if mask.size != (image.width, image.height):
        raise APIError(400, f"mask is {mask.width}x{mask.height}; the image is {image.width}x{image.height}",
                       "mask", "invalid_image_size")
    if "A" not in mask.getbands() and not (mask.mode == "P" and "transparency" in mask.info):
        raise APIError(400, f"mask has no alpha channel (mode {mask.mode}); its fully transparent pixels mark "
                       "the region to redraw", "mask", "invalid_mask")
    alpha = mask.convert("RGBA").getchannel("A")
    bbox = alpha.point(lambda a: 255 if a == 0 else 0).getbbox()
    if bbox is None:
        raise APIError(400, "mask has no fully transparent pixel: nothing marks the region to redraw", "mask",
                       "invalid_mask")
    return bbox


class RequestTooLarge(Exception):
    pass


class Guard:
    """ASGI middleware around the app: a request id, the API key, the request-size limit
    (413, counted as the body arrives, so a chunked body cannot pass it either) and one
    structured access-log line (JSON) per request."""

    def __init__(self, app: FastAPI, settings: Settings, access: logging.Logger):
        self.app, self.settings, self.access = app, settings, access
        self.state = app.state  # tests and the CLI reach the engine through it

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.monotonic()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        request_id = headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        log: dict = {}
        scope.setdefault("state", {})["log"] = log
        sent = {"status": None, "bytes": 0}
        over = [False]  # the body passed the limit: whatever the app answers, the answer is 413

        async def send_logged(message):
            if over[0] and message["type"] == "http.response.start":
                if sent["status"] is None:
                    await self.too_large()(scope, receive, send_logged_plain)
                return
            if over[0] and message["type"] == "http.response.body":
                return
            await send_logged_plain(message)

        async def send_logged_plain(message):
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", request_id.encode("latin-1"))]}
            elif message["type"] == "http.response.body":
                sent["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            refusal = self.refuse(scope, headers)
            if refusal is not None:
                await refusal(scope, receive, send_logged_plain)
                return
            limit, seen = self.settings.max_request_bytes, [0]

            async def receive_limited():
                message = await receive()
                if message["type"] == "http.request":
                    seen[0] += len(message.get("body", b""))
                    if seen[0] > limit:
                        over[0] = True
                        raise RequestTooLarge()  # the app's body parser may turn it into its own error
                return message

            try:
                await self.app(scope, receive_limited, send_logged)
            except RequestTooLarge:
                if sent["status"] is None:
                    await self.too_large()(scope, receive, send_logged_plain)
        finally:
            entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "request_id": request_id,
                     "client": "%s:%s" % tuple(scope.get("client") or ("-", "-")), "method": scope["method"],
                     "path": scope["path"], "status": sent["status"] if sent["status"] is not None else 499,
                     "bytes": sent["bytes"], "ms": round((time.monotonic() - start) * 1000, 1), **log}
            if self.access.isEnabledFor(logging.INFO):
                self.access.info(json.dumps(entry, default=str))

    def too_large(self):
        return error_response(413, f"the request is larger than this server's limit of "
                              f"{self.settings.max_request_bytes} bytes", None, "request_too_large")

    def refuse(self, scope, headers):
        if self.settings.api_key and scope["path"] != "/health":
            given = headers.get("authorization", "")
            scheme, _, key = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip().encode(), self.settings.api_key.encode()):
                what = "no API key was given" if not given else "the API key is not this server's"
                return error_response(401, f"{what}: send 'Authorization: Bearer KEY'", None, "invalid_api_key",
                                      headers={"WWW-Authenticate": "Bearer"})
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return error_response(400, f"Content-Length '{length[:20]}' is not a number", None, "bad_request")
            if int(length) > self.settings.max_request_bytes:
                return self.too_large()
        return None


def default_model_name(path) -> str:
    name = os.path.basename(str(path or ponder.default_model_path()))
    for suffix in (".gguf", "-q8_0"):
        name = name[: -len(suffix)] if name.endswith(suffix) else name
    return name


def ponder_version() -> str:
    try:
        from importlib.metadata import version
        return version("ponder")
    except Exception:
        return "0"


# --- command line -----------------------------------------------------------------------


def arguments(argv=None):
    d = Settings()
    p = argparse.ArgumentParser(prog="ponder serve", description="An OpenAI-compatible image server for a Ponder model "
                                "(docs/serving.md).")
    p.add_argument("--model", help="the model file (default: the packaged model, or $PONDER_MODEL)")
    p.add_argument("--model-name", help="its id in /v1/models and requests (default: the file name, e.g. ponder-shapes)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only; "
                   "0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one, printed at start)")
    p.add_argument("--workers", type=int, default=d.workers, help="images drawn at once (default: one per core)")
    p.add_argument("--threads", type=int, default=d.threads, help="threads per image (default: cores / workers)")
    p.add_argument("--queue", type=int, default=d.queue, help=f"images that may wait beyond the ones drawn; past "
                   f"it a request gets 503 with Retry-After (default {d.queue})")
    p.add_argument("--max-n", type=int, default=d.max_n, help=f"images one request may ask for (default {d.max_n})")
    p.add_argument("--max-request-bytes", type=int, default=d.max_request_bytes,
                   help=f"largest request body (default {d.max_request_bytes})")
    p.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY' (default: $PONDER_API_KEY "
                   "if set, else no key)")
    p.add_argument("--shutdown-timeout", type=float, default=30.0, help="on SIGTERM or Ctrl-C, seconds to let running "
                   "requests finish before they are cancelled (default 30)")
    p.add_argument("--access-log", default="-", help="where the access log goes, one JSON object a line "
                   "('-': standard error, the default; 'off': nowhere)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = arguments(argv)
    try:
        import uvicorn
    except ImportError:
        print('ponder serve needs the "serve" extra: pip install "ponder[serve]"', file=sys.stderr)
        return 2
    api_key = args.api_key if args.api_key is not None else os.environ.get("PONDER_API_KEY") or None
    settings = Settings(model_path=args.model, model_name=args.model_name, workers=args.workers, threads=args.threads,
                        queue=args.queue, max_n=args.max_n, max_request_bytes=args.max_request_bytes, api_key=api_key)
    try:
        settings = settings.resolved()
        engine = Engine(settings)  # loaded before listening: a bad model fails here, not on the first request
    except (ValueError, ponder.PonderError) as e:
        print(f"ponder serve: {e}", file=sys.stderr)
        return 2
    # The answer says so (plan_satisfied); a warning on the server's terminal would say it to no one.
    import warnings
    warnings.filterwarnings("ignore", message="no plan of the .* satisfies the prompt", category=UserWarning)
    access = logging.getLogger(ACCESS_LOG)
    access.propagate = False
    if args.access_log != "off":
        handler = logging.StreamHandler(sys.stderr) if args.access_log == "-" else logging.FileHandler(args.access_log)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(handler)
        access.setLevel(logging.INFO)
    else:
        access.setLevel(logging.CRITICAL + 1)
    app = make_app(settings, engine)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as e:
        print(f"ponder serve: cannot listen on {args.host}:{args.port}: {e.strerror}", file=sys.stderr)
        engine.close()
        return 2
    sock.listen(1024)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False, lifespan="on",
                            timeout_graceful_shutdown=args.shutdown_timeout)
    server = uvicorn.Server(config)
    print(f"ponder serve: {default_model_name(args.model)} on http://{shown}:{port} ({settings.workers} workers, "
          f"{settings.threads} threads each, queue {settings.queue}{', API key required' if api_key else ''})",
          file=sys.stderr, flush=True)
    # uvicorn stops gracefully on SIGTERM and SIGINT, then raises the signal again under the
    # handlers that were there before it: these make that a clean exit, after the model is freed.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        server.run(sockets=[sock])
    finally:
        engine.close()
        print("ponder serve: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
