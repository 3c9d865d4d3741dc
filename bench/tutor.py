"""The tutor pipeline against raw llama-cpp-python, on the same model, prompt and token budget.

In one process: the pipeline (masking, language detection, retrieval, prompt, the embedded model
worker thread, streaming checks) answers a question on a lesson, cold, then a follow-up on the same
lesson; then raw llama-cpp-python gets exactly the messages the pipeline sent, with the same sampling
settings, and so does `python -m llama_cpp.server` on the same model (started here, as deploy/Procfile
runs it), asked through the platform's OpenAI backend (TUTOR_BACKEND=openai); they alternate round by
round, after a warm-up round. Raw and server rounds are cold alike: raw's KV cache is reset, the server
first answers another conversation (it keeps only the last prompt's tokens). Time to first token is measured from
the question's submission to the model's first token inside the pipeline (the job queued, plus the
worker's own time to its first token), and as the caller of raw llama-cpp-python sees it (first
streamed chunk). Then every question of tests/tutor/eval_set.yaml is asked as on the page and left as
soon as its first words are on the screen (the lesson's passage, shown before the model's wording;
for refusals and hints, the whole reply): `first_words_ms` is their p95.
Last line: RESULT ttft_ms=... raw_ttft_ms=... tok_s=... raw_tok_s=... decode_ratio=... followup_ttft_ms=...
first_words_ms=... server_ttft_ms=... server_tok_s=... server_decode_ratio=... (server tok/s ÷ raw tok/s)
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # noqa: E402 - run as a script

from gennation.courses.service import load_courses  # noqa: E402
from gennation.courses.source import read_all  # noqa: E402
from gennation.platform.accounts.schemas import RegistrationIn  # noqa: E402
from gennation.platform.accounts.service import register  # noqa: E402
from gennation.platform.database import Database  # noqa: E402
from gennation.platform.db_migrations import upgrade  # noqa: E402
from gennation.platform.settings import Settings  # noqa: E402
from gennation.tutor import evaluation  # noqa: E402
from gennation.tutor import prompt as prompts  # noqa: E402
from gennation.tutor import service  # noqa: E402
from gennation.tutor.engine import N_CTX, EmbeddedBackend, Job, OpenAIBackend  # noqa: E402

COURSE, LESSON = "ai-basics-school", "artificial-neuron"
COLD = "Как искусственный нейрон принимает решение?"
FOLLOW_UP = "А что делает порог в нейроне?"


async def pipeline_round(db, runtime, user: int, question: str) -> dict:
    """Time to the model's first token, to the first words on the screen, and the decode speed inside the
    pipeline."""
    start = time.perf_counter()
    queued = None
    message = await db.run(service.submit, runtime, service.Question(question, "ru", user, COURSE, LESSON))
    async for event in service.answer(db, runtime, user, message.id):
        if event["type"] in ("passage", "text") and queued is None:
            queued = time.perf_counter()  # the job is queued before the passage is shown
        if event["type"] == "final":
            answer = event["answer"]
    ttft = ((queued or time.perf_counter()) - start) * 1000 + (answer.ttft_ms or 0)
    decode_s = (answer.total_ms - answer.ttft_ms) / 1000 if answer.total_ms else 0
    return {"ttft_ms": ttft, "tok_s": (answer.tokens - 1) / decode_s if decode_s > 0 else 0.0,
            "tokens": answer.tokens, "kind": answer.kind.value, "first_words_ms": ((queued or start) - start) * 1000}


async def first_words(db, runtime, user: int, case) -> float:
    """Ask one evaluation question as on the page; leave as soon as its first words are on the screen."""
    start = time.perf_counter()
    message = await db.run(service.submit, runtime, service.Question(case.question, case.lang, user, case.course,
                                                                     case.lesson, case.quiz))
    events = service.answer(db, runtime, user, message.id)
    try:
        async for event in events:
            if event["type"] in ("passage", "text", "final"):
                break
    finally:
        await events.aclose()  # the learner leaves: the generation is cancelled
    return (time.perf_counter() - start) * 1000


def raw_round(llm, messages: list[dict]) -> dict:
    start = time.perf_counter()
    first, count = None, 0
    for chunk in llm.create_chat_completion(messages=messages, max_tokens=prompts.MAX_TOKENS["ru"], stream=True,
                                            temperature=0.2, top_p=0.9, repeat_penalty=1.15, seed=7):
        if chunk["choices"][0]["delta"].get("content"):
            count += 1
            if first is None:
                first = time.perf_counter()
    end = time.perf_counter()
    return {"ttft_ms": ((first or end) - start) * 1000,
            "tok_s": (count - 1) / (end - first) if first and end > first else 0.0, "tokens": count}


SERVER_ALIAS = "qwen2.5-coder-0.5b-instruct-q4"
# Answered by the server before each measured round, so that nothing of the measured prompt is in its cache.
OTHER_CONVERSATION = [{"role": "user", "content": "Скажи «да»."}]


def start_server(model_path: Path, log_path: Path) -> tuple[subprocess.Popen, OpenAIBackend]:
    """llama_cpp.server on the same model and threads as raw llama-cpp-python; the platform's backend for it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model_path),
                                 "--model_alias", SERVER_ALIAS, "--host", "127.0.0.1", "--port", str(port),
                                 "--n_ctx", str(N_CTX), "--n_threads", str(os.cpu_count()),
                                 "--interrupt_requests", "False", "--logits_all", "False"],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    backend = OpenAIBackend(f"http://127.0.0.1:{port}/v1", SERVER_ALIAS, concurrency=1)
    deadline = time.monotonic() + 120
    while backend.probe() != "ready":
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"llama_cpp.server did not start; its log: {log_path}")
        time.sleep(0.2)
    return proc, backend


async def server_round(backend: OpenAIBackend, messages: list[dict]) -> dict:
    """The same messages and budget as raw, through the OpenAI backend, timed as the caller sees them."""
    async for _event in backend.stream(Job(OTHER_CONVERSATION, 1)):
        pass
    start = time.perf_counter()
    first, count = None, 0
    async for event in backend.stream(Job(messages, prompts.MAX_TOKENS["ru"])):
        if event["type"] == "token":
            count += 1
            if first is None:
                first = time.perf_counter()
        elif event["type"] == "error":
            sys.exit(f"llama_cpp.server failed: {event['message']}")
        elif event["type"] == "done":
            end = time.perf_counter()
    return {"ttft_ms": ((first or end) - start) * 1000,
            "tok_s": (count - 1) / (end - first) if first and end > first else 0.0, "tokens": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="gennation-bench-tutor-"))
    settings = Settings(var_dir=var, database_url=f"sqlite:///{var / 'bench.db'}",
                        tutor_model_path=Settings(var_dir=ROOT / "var").resolved().tutor_model_path).resolved()
    upgrade(settings.database_url)
    courses, _glossary, errors = read_all(settings.content_dir)
    if errors:
        sys.exit("course sources are invalid: gennation courses validate")
    backend = EmbeddedBackend(settings.tutor_model_path)
    backend.start()
    if not backend.wait_ready():
        sys.exit(f"tutor model unavailable at {settings.tutor_model_path}: make model")
    runtime = service.TutorRuntime(backend, settings.content_dir)
    runtime.questions_per_minute = 10**6

    from llama_cpp import Llama
    llm = Llama(model_path=str(settings.tutor_model_path), n_ctx=N_CTX, n_threads=os.cpu_count(), verbose=False)
    pipeline, followups, raw, served = [], [], [], []
    server_proc, server = start_server(settings.tutor_model_path, var / "inference.log")
    db = Database(settings.database_url)
    with db.unit_of_work() as session:
        load_courses(session, courses)
        user = register(session, RegistrationIn(username="bench", password="bench-password-1",
                                                display_name="Bench", region="astana", category="adult")).id
    with db.unit_of_work() as session:
        runtime.warm_up(session)  # indexes built once, as in a running server
        asked = service.submit(session, runtime, service.Question(COLD, "ru", user, COURSE, LESSON))
    with db.unit_of_work() as session:
        prepared = service.prepare(session, runtime, user, asked.id)  # exactly what the pipeline sends
    messages = prompts.build_messages(COLD, "ru", prepared.excerpt,
                                      prepared.definition.definition if prepared.definition else "")
    try:
        for round_number in range(args.rounds + 1):  # round 0 warms both up and is not counted
            backend._worker.llm.reset()  # cold: nothing of the lesson in the KV cache
            cold = asyncio.run(pipeline_round(db, runtime, user, COLD))
            follow = asyncio.run(pipeline_round(db, runtime, user, FOLLOW_UP))
            llm.reset()
            plain = raw_round(llm, messages)
            through_server = asyncio.run(server_round(server, messages))
            if round_number:
                pipeline.append(cold)
                followups.append(follow)
                raw.append(plain)
                served.append(through_server)
    finally:
        server_proc.terminate()
        server_proc.wait(timeout=30)
    cases = evaluation.load_cases(ROOT / "tests" / "tutor" / "eval_set.yaml")
    shown = sorted(asyncio.run(first_words(db, runtime, user, case)) for case in cases)
    backend.close()
    first_words_p95 = shown[min(len(shown) - 1, int(0.95 * len(shown)))]

    def median(rows, key):
        return statistics.median(row[key] for row in rows)

    print(f"model={settings.tutor_model_path.name} rounds={args.rounds} max_tokens={prompts.MAX_TOKENS['ru']}")
    print(f"first words on screen over {len(shown)} evaluation questions: median {statistics.median(shown):.0f} ms, "
          f"p95 {first_words_p95:.0f} ms, max {shown[-1]:.0f} ms")
    for name, rows in (("pipeline cold", pipeline), ("pipeline follow-up", followups), ("raw cold", raw),
                       ("llama_cpp.server cold", served)):
        print(f"{name:20} ttft " + ", ".join(f"{r['ttft_ms']:.0f}" for r in rows) + " ms; tok/s "
              + ", ".join(f"{r['tok_s']:.1f}" for r in rows) + "; tokens " + ", ".join(str(r["tokens"]) for r in rows)
              + ("; kinds " + ", ".join(r["kind"] for r in rows) if "kind" in rows[0] else ""))
    ttft, raw_ttft = median(pipeline, "ttft_ms"), median(raw, "ttft_ms")
    tok_s, raw_tok_s = median(pipeline, "tok_s"), median(raw, "tok_s")
    print(f"RESULT ttft_ms={ttft:.0f} raw_ttft_ms={raw_ttft:.0f} tok_s={tok_s:.1f} raw_tok_s={raw_tok_s:.1f} "
          f"decode_ratio={tok_s / raw_tok_s:.3f} followup_ttft_ms={median(followups, 'ttft_ms'):.0f} "
          f"first_words_ms={first_words_p95:.0f} server_ttft_ms={median(served, 'ttft_ms'):.0f} "
          f"server_tok_s={median(served, 'tok_s'):.1f} server_decode_ratio={median(served, 'tok_s') / raw_tok_s:.3f}")


if __name__ == "__main__":
    main()
