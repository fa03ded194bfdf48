"""Files: what bots upload (multipart, ``attach://``), send by URL or by ``file_id``; ``getFile`` and
downloads under ``/file/bot<token>/<path>``; ``/control/files/<file_id>`` for the page and tests."""

from __future__ import annotations

import mimetypes
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.emulator.media import FILE_FOLDERS, PLACEHOLDERS, image_size
from sandbox.emulator.models import BotState, StoredFile
from sandbox.emulator.protocol import TOKEN_RE, ApiError, ControlError, Upload, p_int, p_str
from sandbox.emulator.state import ControlRoute, EmulatorState, Handler

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


class FilesMixin(EmulatorState):
    """The file store behind media messages."""

    def _files_methods(self) -> dict[str, Handler]:
        return {"getFile": self._m_get_file}

    def _files_controls(self) -> list[ControlRoute]:
        return [("/control/files/{file_id}", self._c_file, ["GET"])]

    def _new_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
        duration: int | None = None,
        source_url: str | None = None,
    ) -> StoredFile:
        self._file_counter += 1
        n = self._file_counter
        folder, default_ext, prefix = FILE_FOLDERS[kind]
        ext = Path(file_name).suffix if file_name and Path(file_name).suffix else default_ext
        if not ext and mime_type:
            ext = mimetypes.guess_extension(mime_type) or ""
        f = StoredFile(
            file_id=f"{prefix}{n:06d}{secrets.token_urlsafe(12)}",
            file_unique_id=f"AQAD{n:06d}{secrets.token_hex(2)}",
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{n}{ext}",
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
            duration=duration,
            source_url=source_url,
        )
        self.files[f.file_id] = f
        self._files_by_path[f.file_path] = f
        return f

    def _upload_to_file(self, kind: str, upload: Upload, params: dict[str, Any]) -> StoredFile:
        data = upload.data
        if not data:
            raise ApiError(400, "Bad Request: file must be non-empty")
        if len(data) > MAX_UPLOAD_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        name = upload.filename or PLACEHOLDERS[kind][2]
        mime = upload.content_type
        if mime == "application/octet-stream":
            mime = None
        if mime is None:
            mime = mimetypes.guess_type(name)[0] or ("application/octet-stream" if kind == "document" else None)
        width = p_int(params, "width")
        height = p_int(params, "height")
        if kind in ("photo", "sticker"):
            info = image_size(data)
            if info is None:
                if kind == "photo":
                    raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
                info = ("webp", 512, 512)
            _fmt, width, height = info
        return self._new_file(
            kind,
            data,
            file_name=name,
            mime_type=mime,
            width=width,
            height=height,
            duration=p_int(params, "duration", 0),
        )

    def _input_file(self, params: dict[str, Any], files: dict[str, Upload], name: str, kind: str) -> StoredFile:
        value = params.get(name)
        upload = None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
            if upload is None:
                raise ApiError(400, f"Bad Request: there is no file attached as {value}")
        elif name in files:
            upload = files[name]
        if upload is not None:
            return self._upload_to_file(kind, upload, params)
        if value is None or value == "":
            raise ApiError(400, f"Bad Request: there is no {name} in the request")
        ref = str(value).strip()
        if re.match(r"^https?://", ref):
            data, mime, default_name = PLACEHOLDERS[kind]
            basename = urlsplit(ref).path.rsplit("/", 1)[-1] or default_name
            info = image_size(data) if kind in ("photo", "sticker") else None
            return self._new_file(
                kind,
                data,
                file_name=basename,
                mime_type=mime,
                width=info[1] if info else None,
                height=info[2] if info else None,
                source_url=ref,
            )
        f = self.files.get(ref)
        if f is None:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if f.kind != kind:
            raise ApiError(400, f"Bad Request: can't use file of type {f.kind.title()} as {kind.title()}")
        return f

    def _media_value(self, f: StoredFile) -> Any:
        if f.kind == "photo":
            group = [self.files[i] for i in (f.group or [f.file_id]) if i in self.files]
            return [g.as_object() for g in group]
        return f.as_object()

    async def _m_get_file(self, bot: BotState, p: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        f = self.files.get(p_str(p, "file_id") or "")
        if f is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(f.data) > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": len(f.data),
            "file_path": f.file_path,
        }

    async def _bot_file(self, request: Request) -> Response:
        if not TOKEN_RE.match(request.path_params["token"]):
            return JSONResponse(ApiError(401, "Unauthorized").payload(), status_code=401)
        f = self._files_by_path.get(request.path_params["file_path"])
        if f is None:
            return JSONResponse(ApiError(404, "Not Found").payload(), status_code=404)
        return Response(f.data, media_type=f.mime_type or "application/octet-stream")

    async def _c_file(self, request: Request, body: dict[str, Any]) -> Any:
        f = self.files.get(request.path_params["file_id"])
        if f is None:
            raise ControlError(404, "unknown file_id")
        name = f.file_name or Path(f.file_path).name
        return Response(
            f.data,
            media_type=f.mime_type or "application/octet-stream",
            headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}"},
        )
