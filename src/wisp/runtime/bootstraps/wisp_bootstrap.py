# wisp's Lambda runtime client for Python (stdlib only, Python 3.9+).
#
# wisp starts one of these per worker as `python3.X bootstrap.py`, which imports this module
# (so that Python caches its bytecode) and calls main(). It speaks the Lambda
# Runtime API at $AWS_LAMBDA_RUNTIME_API over one keep-alive connection, loads _HANDLER
# from LAMBDA_TASK_ROOT (then layers), and reports results, errors and init errors with
# the shapes and texts of AWS's Python runtime.
import os
import sys
import time

import _socket

try:
    import _json as _cjson  # json's C accelerator, without `import json`'s imports
except ImportError:  # pragma: no cover - every CPython build has it
    _cjson = None

_ERROR_LINE_TERMINATOR = "\r"
_ERROR_INDENT = "\u00a0"
_current_request_id = None
_current_tenant_id = None


class _Fault(Exception):
    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


_NEXT_PATH = "/2018-06-01/runtime/invocation/next"


class _RuntimeClient:
    """A minimal HTTP/1.1 client for wisp's Runtime API (which always answers with a
    Content-Length). A result is posted together with the next /next (HTTP/1.1 pipelining:
    one send and one wake-up per invocation)."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.address = address
        self.target = (host or "127.0.0.1", int(port))
        self.sock = None
        self.buffer = b""
        self.next_sent = False
        self.next_request = (
            "GET %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n\r\n" % (_NEXT_PATH, address)
        ).encode("latin-1")

    def _connect(self):
        sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        sock.connect(self.target)
        self.sock = sock
        self.buffer = b""

    def request(self, method, path, body=b"", headers=None, then_next=False):
        """Sends one request (and with then_next a /next right behind it); returns its answer."""
        head = "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n" % (
            method,
            path,
            self.address,
            len(body),
        )
        if headers:
            for key, value in headers.items():
                head += "%s: %s\r\n" % (key, value)
        head += "\r\n"
        data = head.encode("latin-1")
        tail = self.next_request if then_next else b""
        for attempt in (0, 1):
            try:
                if self.sock is None:
                    self._connect()
                if len(body) < 65536:
                    self.sock.sendall(data + body + tail)
                else:
                    self.sock.sendall(data)
                    self.sock.sendall(body + tail)
                self.next_sent = then_next
                return self._read_response()
            except (ConnectionError, OSError):
                self.close()
                if attempt == 1:
                    raise

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.buffer = b""
        self.next_sent = False

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the Runtime API closed the connection")
        self.buffer += chunk

    def _read_response(self):
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                break
            self._fill()
        head = self.buffer[:end].decode("latin-1")
        self.buffer = self.buffer[end + 4 :]
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if len(self.buffer) < length:
            # Read the rest straight into one buffer: growing bytes chunk by chunk is quadratic
            # (a 5 MB event took seconds).
            body = bytearray(length)
            have = len(self.buffer)
            body[:have] = self.buffer
            view = memoryview(body)
            while have < length:
                count = self.sock.recv_into(view[have:], length - have)
                if count == 0:
                    raise ConnectionError("the Runtime API closed the connection")
                have += count
            view.release()
            body = bytes(body)
            self.buffer = b""
        else:
            body = self.buffer[:length]
            self.buffer = self.buffer[length:]
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def next(self):
        while True:
            status = None
            if self.next_sent:
                self.next_sent = False
                try:
                    status, headers, body = self._read_response()
                except (ConnectionError, OSError):
                    self.close()
            if status is None:
                status, headers, body = self.request("GET", _NEXT_PATH)
            if status == 200:
                return headers, body
            sys.stderr.write("wisp bootstrap: /next answered %d: %r\n" % (status, body[:200]))
            if status >= 500 or status == 403:
                sys.exit(1)

    def post(self, path, body, headers, then_next=False):
        """Posts a result; then_next sends the next /next with it (only where the loop goes
        on to ask for the next event: never before an exit)."""
        status, _, answer = self.request("POST", path, body, headers, then_next)
        if status == 413:
            sys.stderr.write("wisp bootstrap: response rejected: %s\n" % answer.decode("utf-8", "replace"))
        return status


class _CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id,
            self.cognito_identity_pool_id,
        )


class _Client(object):
    __slots__ = [
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    ]


class _ClientContext(object):
    __slots__ = ["custom", "env", "client"]


def _from_dict(cls, values):
    if values is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, values.get(field) if isinstance(values, dict) else None)
    return obj


class LambdaContext(object):
    def __init__(self, request_id, client_context, identity, deadline_ms, arn, tenant_id):
        env = os.environ
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = arn
        self.tenant_id = tenant_id
        self.client_context = _from_dict(_ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _from_dict(_Client, self.client_context.client)
        self.identity = _from_dict(_CognitoIdentity, {})
        if isinstance(identity, dict):
            self.identity.cognito_identity_id = identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = identity.get("cognitoIdentityPoolId")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
            "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
            "invoked_function_arn=%s,client_context=%s,identity=%s,tenant_id=%s])"
            % (
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
                self.client_context,
                self.identity,
                self.tenant_id,
            )
        )


def _indent(line):
    count = len(line) - len(line.lstrip(" "))
    return _ERROR_INDENT * count + line[count:]


def _log_error(error):
    if _LOG_JSON:
        record = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time())),
            "log_level": "ERROR",
        }
        record.update(error)
        sys.stdout.write(_make_encoder(_ensure_ascii()).encode(record) + "\n")
        return
    description = "[ERROR]"
    if error.get("errorType"):
        description += " " + error["errorType"]
    if error.get("errorMessage"):
        if error.get("errorType"):
            description += ":"
        description += " " + error["errorMessage"]
    lines = [description]
    trace = error.get("stackTrace")
    if trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in trace:
            if element == "":
                lines.append("")
            else:
                lines.extend(_indent(line) for line in element.splitlines())
    sys.stdout.write(_ERROR_LINE_TERMINATOR.join(lines) + "\n")


def _make_error(message, error_type, trace, request_id):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": trace or [],
    }


def _user_frames(tb):
    import traceback

    frames = traceback.extract_tb(tb)
    for index, frame in enumerate(frames):
        if frame.filename != __file__:
            return traceback.format_list(frames[index:])
    return []


def _fault_error(exc, request_id):
    if isinstance(exc, _Fault):
        return _make_error(exc.message, exc.error_type, exc.trace, request_id)
    return _make_error(str(exc), type(exc).__name__, _user_frames(exc.__traceback__), request_id)


def _load_handler(handler):
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as e:
        raise _Fault("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, e))
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise _Fault(
                "Runtime.BuiltInModuleConflict",
                "Cannot use built-in module %s as a handler module" % module_name,
            )
        dotted = module_name.replace("/", ".")
        __import__(dotted)
        module = sys.modules[dotted]
    except ImportError as e:
        raise _Fault(
            "Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_name, e)
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise _Fault(
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module '%s': %s" % (module_name, e),
            trace,
        )
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise _Fault(
            "Runtime.HandlerNotFound",
            "Handler '%s' missing on module '%s'" % (function_name, module_name),
        )


def _json_default(obj):
    """What AWS's runtime does with values json cannot encode: Decimal to int or float."""
    import decimal

    if isinstance(obj, decimal.Decimal):
        if obj.is_nan():
            return float("nan")
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError(f"Object of type {obj.__class__.__name__} is not JSON serializable")


# `import json` costs a cold start ~13 ms (it imports re, enum, collections) for what the C
# accelerator `_json` does alone. _json_loads and _make_encoder use it directly and hand
# anything unusual (errors, a BOM, another Python's _json) to the json module, so results
# and error texts are json's.
class _ScanContext:
    def __init__(self):
        self.strict = True
        self.object_hook = None
        self.object_pairs_hook = None
        self.parse_float = float
        self.parse_int = int
        self.parse_constant = {
            "-Infinity": float("-inf"),
            "Infinity": float("inf"),
            "NaN": float("nan"),
        }.__getitem__


_scanner = None
_JSON_SPACE = " \t\n\r"


def _json_loads(data):
    """json.loads(data)."""
    global _scanner
    if _cjson is not None:
        try:
            text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
            if _scanner is None:
                _scanner = _cjson.make_scanner(_ScanContext())
            start = 0
            if text and text[0] in _JSON_SPACE:
                start = len(text) - len(text.lstrip(_JSON_SPACE))
            value, end = _scanner(text, start)
            if end == len(text) or not text[end:].strip(_JSON_SPACE):
                return value
        except Exception:  # noqa: BLE001 - json.loads decides, with its own message
            pass
    import json

    return json.loads(data)


class _FastEncoder:
    """json.JSONEncoder(ensure_ascii=...).encode with _json_default, on _json's encoder."""

    def __init__(self, ensure_ascii):
        self.encode_str = (
            _cjson.encode_basestring_ascii if ensure_ascii else _cjson.encode_basestring
        )
        self.encode([{"probe": 1.5}])  # another Python's _json signature fails here

    def encode(self, obj):
        if isinstance(obj, str):
            return self.encode_str(obj)
        chunks = _cjson.make_encoder(
            {}, _json_default, self.encode_str, None, ": ", ", ", False, False, True
        )(obj, 0)
        return "".join(chunks)


def _ensure_ascii():
    """AWS's client writes non-ASCII characters as they are on python3.12 and later, as \\u
    escapes before (its marshaller's list of execution environments)."""
    env = os.environ.get("AWS_EXECUTION_ENV", "")
    prefix = "AWS_Lambda_python3."
    if env.startswith(prefix) and env[len(prefix) :].isdigit():
        return int(env[len(prefix) :]) < 12
    return True


def _make_encoder(ensure_ascii):
    if _cjson is not None:
        try:
            return _FastEncoder(ensure_ascii)
        except Exception:  # noqa: BLE001 - fall back to the json module
            pass
    import json

    class _Encoder(json.JSONEncoder):
        def default(self, obj):
            return _json_default(obj)

    return _Encoder(ensure_ascii=ensure_ascii)


_LOG_JSON = os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"
# Fields of a LogRecord that the JSON format never copies (AWS's runtime client's list).
_RESERVED_LOG_FIELDS = frozenset(
    (
        "name",
        "msg",
        "args",
        "levelname",
        "levelno",
        "pathname",
        "filename",
        "module",
        "exc_info",
        "exc_text",
        "stack_info",
        "lineno",
        "funcName",
        "created",
        "msecs",
        "relativeCreated",
        "thread",
        "threadName",
        "processName",
        "process",
        "aws_request_id",
        "tenant_id",
        "_frame_type",
    )
)


def _json_formatter(logging):
    """LoggingConfig LogFormat JSON: one JSON object per record, as AWS's Python runtime writes
    it (timestamp to the second, level, message, logger, the exception's fields, requestId,
    location, tenantId, then the record's extra attributes; None values left out)."""
    import json
    import traceback

    encode = json.JSONEncoder(ensure_ascii=False).encode

    class _JsonFormatter(logging.Formatter):
        def format(self, record):
            record.levelno = min(50, max(0, record.levelno)) // 10 * 10
            record.levelname = logging.getLevelName(record.levelno)
            exc_info = record.exc_info
            result = {
                "timestamp": self.formatTime(record, self.datefmt),
                "level": record.levelname,
                "message": record.getMessage(),
                "logger": record.name,
                "stackTrace": traceback.format_tb(exc_info[2]) if exc_info else None,
                "errorType": exc_info[0].__name__ if exc_info else None,
                "errorMessage": str(exc_info[1]) if exc_info else None,
                "requestId": getattr(record, "aws_request_id", None),
                "location": "%s:%s:%s" % (record.pathname, record.funcName, record.lineno)
                if exc_info
                else None,
            }
            if getattr(record, "tenant_id", None) is not None:
                result["tenantId"] = record.tenant_id
            result.update(
                (key, value)
                for key, value in record.__dict__.items()
                if key not in _RESERVED_LOG_FIELDS and key not in result
            )
            result = {k: v for k, v in result.items() if v is not None}
            return encode(result) + "\n"

    return _JsonFormatter(datefmt="%Y-%m-%dT%H:%M:%SZ")


def _setup_logging(logging):
    """Lambda's root handler: `[LEVEL]\t<time>\t<request id>\t<message>` on stdout (JSON
    objects with LogFormat JSON)."""

    class _Filter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _current_request_id or ""
            record.tenant_id = _current_tenant_id
            return True

    class _Handler(logging.Handler):
        def emit(self, record):
            try:
                sys.stdout.write(self.format(record))
            except Exception:
                self.handleError(record)

    logging.Formatter.converter = time.gmtime
    handler = _Handler()
    if _LOG_JSON:
        handler.setFormatter(_json_formatter(logging))
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
    handler.addFilter(_Filter())
    root = logging.getLogger()
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level == "TRACE":  # Python has no TRACE: AWS's client maps it to DEBUG
        level = "DEBUG"
    if level in logging._nameToLevel:
        root.setLevel(level)
    root.addHandler(handler)


class _ConfigureLoggingOnImport(object):
    """Installs Lambda's logging handler the moment the function first imports `logging`
    (before any of its code can log), so functions that never log do not pay for the
    module at cold start."""

    module = "logging"

    def configure(self, module):
        _setup_logging(module)

    def find_spec(self, name, path=None, target=None):
        if name != self.module:
            return None
        sys.meta_path.remove(self)
        spec = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                break
        if spec is None or spec.loader is None:
            return spec
        real = spec.loader

        class _Loader(object):
            def create_module(inner, module_spec):
                return real.create_module(module_spec)

            def exec_module(inner, module):
                real.exec_module(module)
                self.configure(module)

        spec.loader = _Loader()
        return spec


def _sqs_trace_header(params, **kwargs):
    """What SQS does with the X-Amzn-Trace-Id header the SDK sends from a function (it keeps it
    as the message's AWSTraceHeader: recursive loop detection follows it), done in the SDK for
    a local peer that does not (moto): only when the endpoint is a local one and the call does
    not set AWSTraceHeader itself."""
    env = os.environ
    trace = env.get("_X_AMZN_TRACE_ID")
    if not trace or not (env.get("AWS_ENDPOINT_URL_SQS") or env.get("AWS_ENDPOINT_URL")):
        return
    entries = params.get("Entries") if "Entries" in params else [params]
    for entry in entries or []:
        if isinstance(entry, dict):
            attributes = entry.setdefault("MessageSystemAttributes", {})
            if isinstance(attributes, dict) and "AWSTraceHeader" not in attributes:
                attributes["AWSTraceHeader"] = {"DataType": "String", "StringValue": trace}


class _SqsTraceOnImport(_ConfigureLoggingOnImport):
    """Registers _sqs_trace_header when the function first imports botocore's handlers (every
    session it creates then has it); functions that never use the SDK pay nothing."""

    module = "botocore.handlers"

    def configure(self, module):
        for operation in ("SendMessage", "SendMessageBatch"):
            module.BUILTIN_HANDLERS.append(
                ("before-parameter-build.sqs." + operation, _sqs_trace_header)
            )


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def main():
    global _current_request_id, _current_tenant_id
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except Exception:
            pass
    env = os.environ
    client = _RuntimeClient(env["AWS_LAMBDA_RUNTIME_API"])
    # Lambda's search path before the interpreter's own: the task root, the layers
    # (python/lib/python3.X/site-packages, then python), then the runtime's libraries (boto3);
    # wisp computes it (/var/task, /opt/... in Lambda's file layout).
    paths = [p for p in env.pop("_WISP_PYTHON_PATH", "").split(os.pathsep) if p]
    if not paths:
        paths = [env.get("LAMBDA_TASK_ROOT") or os.getcwd()]
    sys.path[0:1] = paths

    encoder = _make_encoder(_ensure_ascii())
    if "logging" in sys.modules:
        _setup_logging(sys.modules["logging"])
    else:
        sys.meta_path.insert(0, _ConfigureLoggingOnImport())
    if "botocore.handlers" not in sys.modules:
        sys.meta_path.insert(0, _SqsTraceOnImport())
    try:
        handler = _load_handler(env.get("_HANDLER", ""))
    except Exception as e:
        error = _fault_error(e, None)
        _log_error(error)
        _flush()
        body = _make_encoder(True).encode(error).encode("utf-8")
        client.post(
            "/2018-06-01/runtime/init/error",
            body,
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Function-Error-Type": error["errorType"],
            },
        )
        sys.exit(1)

    while True:
        headers, body = client.next()
        request_id = headers.get("lambda-runtime-aws-request-id", "")
        _current_request_id = request_id
        _current_tenant_id = headers.get("lambda-runtime-aws-tenant-id")
        trace_id = headers.get("lambda-runtime-trace-id")
        if trace_id:
            env["_X_AMZN_TRACE_ID"] = trace_id
        else:
            env.pop("_X_AMZN_TRACE_ID", None)
        error = None
        try:
            client_context = headers.get("lambda-runtime-client-context")
            identity = headers.get("lambda-runtime-cognito-identity")
            try:
                client_context = _json_loads(client_context) if client_context else None
            except Exception as e:
                raise _Fault(
                    "Runtime.LambdaContextUnmarshalError",
                    "Unable to parse Client Context JSON: %s" % e,
                )
            try:
                identity = _json_loads(identity) if identity else None
            except Exception as e:
                raise _Fault(
                    "Runtime.LambdaContextUnmarshalError",
                    "Unable to parse Cognito Identity JSON: %s" % e,
                )
            context = LambdaContext(
                request_id,
                client_context,
                identity,
                int(headers.get("lambda-runtime-deadline-ms", "0")),
                headers.get("lambda-runtime-invoked-function-arn"),
                _current_tenant_id,
            )
            content_type = headers.get("content-type", "application/json")
            if content_type == "application/json":
                try:
                    event = _json_loads(body)
                except Exception as e:
                    raise _Fault("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e)
            else:
                event = body
            result = handler(event, context)
            if isinstance(result, bytes):
                payload, result_type = result, "application/unknown"
            else:
                try:
                    payload = encoder.encode(result).encode("utf-8")
                except Exception as e:
                    raise _Fault("Runtime.MarshalError", "Unable to marshal response: %s" % e)
                result_type = "application/json"
        except Exception as e:
            error = _fault_error(e, request_id)
        if error is not None:
            _log_error(error)
            _flush()
            client.post(
                "/2018-06-01/runtime/invocation/%s/error" % request_id,
                encoder.encode(error).encode("utf-8"),
                {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Function-Error-Type": error["errorType"],
                },
                True,
            )
        else:
            _flush()
            client.post(
                "/2018-06-01/runtime/invocation/%s/response" % request_id,
                payload,
                {"Content-Type": result_type},
                True,
            )

