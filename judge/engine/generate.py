"""Generate candidate responses from a prompt configuration (a *system*), cached and resumable.

Data flow per item (post, or post x dimension)::

    system templates -> messages per step -> cache key -> cache hit? -> step output
                                                       -> miss: call_judge (retries) -> cache -> step output
    last step's output -> record appended to generations.jsonl -> (at the end) items.jsonl + benchmark.json

The output directory is a benchmark (``judge run --benchmark OUT`` scores it) plus two files of its own::

    generation.json     GenerationManifest: the system config and its hash, the posts source
    generations.jsonl   one GenerationRecord per finished (or failed) item, appended as it lands

Resuming: items with a successful record are skipped, and every step call that finished before a kill is served
from the reply cache (same ``Cache`` and key scheme as judging), so a restart redoes nothing finished. A failed
item (API error after retries, empty reply) is recorded with its error, counted, left out of items.jsonl and
retried on the next run: never an empty response.

Example::

    from judge.engine.generate import GenerateConfig, load_posts, run_generation
    from judge.data.systems import load_system
    summary = run_generation(GenerateConfig(system=load_system("vanilla"), posts=load_posts("posts.jsonl"),
                                            out=Path("cands/vanilla")))
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from judge import __version__
from judge.data.benchmark import Benchmark, BenchmarkManifest, Item, load_benchmark, save_benchmark
from judge.data.rubric import Dimension, default_rubrics_dir, load_rubric_set
from judge.data.systems import APPRAISAL_QUESTIONS, SystemConfig
from judge.engine.cache import Cache, cache_key
from judge.engine.judge_spec import DEFAULT_LOCAL, JudgeSpec, api_base_problem, judge_from_model
from judge.errors import InputError, Problem, UsageError
from judge.fileio import (
    AppendedRecords,
    check_writable_dir,
    load_document,
    read_appended,
    read_jsonl_collect,
    write_json,
)
from judge.locks import locked

MANIFEST = "generation.json"
RECORDS = "generations.jsonl"
DIMENSION_RUBRIC = "alignment_with_standards"  # the rubric whose `dimensions` hold each dimension's aim/standards


class Post(BaseModel):
    """One help-seeker's post (extra fields of an import, such as the subreddit, are ignored)."""

    model_config = ConfigDict(extra="ignore")

    post_id: str = Field(min_length=1)
    post: str = Field(min_length=1)


class GenerationRecord(BaseModel):
    """One finished or failed item of a generation run (``generations.jsonl``)."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    post_id: str
    dimension_id: int | None = None
    response: str | None = Field(default=None, description="The final response; None when the item failed.")
    error: str | None = None
    steps: list[dict[str, str]] = Field(default_factory=list, description="Every step's name and output, in order.")
    model_calls: int = 0
    cache_hits: int = 0
    created_at: float = Field(default_factory=time.time)


class GenerationManifest(BaseModel):
    tool_version: str = __version__
    created_at: float = Field(default_factory=time.time)
    system: dict[str, Any]
    system_hash: str
    posts_source: str = ""
    command: list[str] = Field(default_factory=list)


class GenerationSummary(BaseModel):
    """Counts a script can read. Failed items are counted and named, never written as responses."""

    out: str
    system: str
    system_hash: str
    items: int = Field(description="Items in items.jsonl (successful).")
    generated: int = Field(description="Items finished by this invocation.")
    skipped: int = Field(description="Items already finished by an earlier invocation (resume).")
    failed: dict[str, str] = Field(default_factory=dict, description="item_id -> error of items that failed.")
    model_calls: int = 0
    cache_hits: int = 0
    wall_s: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.failed


@dataclass
class GenerateConfig:
    """What a generation run needs; ``out`` is created, or resumed if it holds the same system."""

    system: SystemConfig
    posts: list[Post]
    out: Path
    dimensions: list[int] | None = None  # overrides the system's dimensions
    concurrency: int = 4
    cache_dir: Path | None = None
    read_cache: bool = True
    posts_source: str = ""
    command: list[str] = field(default_factory=list)


# -- inputs -------------------------------------------------------------------------------------------------------


def load_posts(path: str | Path, limit: int | None = None) -> list[Post]:
    """Posts from a JSONL of ``{post_id, post}`` or from a benchmark directory (its distinct posts, in order).

    Raises:
        InputError: naming the file, line and field of every malformed row, or a duplicated post_id.
    """
    p = Path(path)
    if p.is_dir():
        bench = load_benchmark(p)
        seen: dict[str, Post] = {}
        for it in bench.items.values():
            seen.setdefault(it.post_id, Post(post_id=it.post_id, post=it.post))
        posts = list(seen.values())
    else:
        posts = _posts_from_jsonl(p)
    if not posts:
        raise InputError(Problem(str(p), "no posts found (expected JSONL lines {post_id, post})"))
    return posts[:limit] if limit is not None else posts


def _posts_from_jsonl(p: Path) -> list[Post]:
    from judge.data.rubric import validation_problems

    rows, problems = read_jsonl_collect(p)
    posts: list[Post] = []
    ids: set[str] = set()
    for lineno, obj in rows:
        try:
            post = Post.model_validate(obj)
        except ValidationError as err:
            problems.extend(validation_problems(err, str(p), obj, line_prefix=f":{lineno}"))
            continue
        if post.post_id in ids:
            problems.append(Problem(f"{p}:{lineno}: post_id", f"duplicate post_id {post.post_id!r}"))
        ids.add(post.post_id)
        posts.append(post)
    if problems:
        raise InputError(problems, source=str(p))
    return posts


def generator_spec(system: SystemConfig) -> JudgeSpec:
    """The model that writes responses, as a ``JudgeSpec`` so it goes through the same seam as judges.

    Raises:
        InputError: the system's ``api_base`` is not a URL a call can be made to (a permanent mistake).
    """
    if system.api_base is not None and (why := api_base_problem(system.api_base)) is not None:
        raise InputError(Problem(f"system {system.name}: api_base", f"{why}, got {system.api_base!r}"))
    spec = judge_from_model(system.model, system.api_base, dict(system.params))
    update: dict[str, Any] = {
        "name": f"generator:{system.name}",
        "timeout": system.timeout,
        "max_retries": system.max_retries,
    }
    if system.api_key_env:
        update["api_key_env"] = system.api_key_env
    if spec.model == "local":
        update["model"] = DEFAULT_LOCAL
    return spec.model_copy(update=update)


def dimension_texts() -> dict[int, Dimension]:
    """The six RESORT dimensions (aim, standards) from the bundled alignment rubric."""
    rubric = load_rubric_set(default_rubrics_dir(), [DIMENSION_RUBRIC])[DIMENSION_RUBRIC]
    return {d.id: d for d in rubric.dimensions}


# -- one item -----------------------------------------------------------------------------------------------------


@dataclass
class _Task:
    item_id: str
    post: Post
    dimension_id: int | None


class _StepFailed(Exception):
    pass


@dataclass
class _Ctx:
    system: SystemConfig
    spec: JudgeSpec
    cache: Cache
    read_cache: bool
    dims: dict[int, Dimension]
    dimension_ids: list[int]
    calls: int = 0
    hits: int = 0


def _messages(system: SystemConfig, text: str) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": system.system_prompt}] if system.system_prompt else []
    return [*msgs, {"role": "user", "content": text}]


async def _step(ctx: _Ctx, rec: GenerationRecord, name: str, template: str, fields: dict[str, str]) -> str:
    """Run one step: fill the template, serve from the cache or call the model; return the (stripped) output."""
    from judge.engine.client import call_judge  # imported on first use: a fully cached run never loads LiteLLM

    messages = _messages(ctx.system, template.format(**fields))
    key = cache_key(
        model_identity=ctx.spec.identity(),
        messages=messages,
        response_format=None,
        rubric_ref=f"generate:{name.split('@')[0]}",
        sample=0,
        seed=ctx.system.seed,
    )
    hit = ctx.cache.get(key) if ctx.read_cache else None
    if hit is not None and (hit.content or "").strip():
        ctx.hits += 1
        rec.cache_hits += 1
        out = (hit.content or "").strip()
    else:
        res = await call_judge(ctx.spec, messages, None, ctx.system.seed)
        ctx.calls += 1
        rec.model_calls += 1
        if res.reply is None:
            raise _StepFailed(f"step {name}: {'context overflow' if res.overflow else 'api_error'}: {res.error}")
        out = (res.reply.content or "").strip()
        if not out:
            raise _StepFailed(f"step {name}: the model returned an empty reply")
        ctx.cache.put(key, res.reply)  # only usable replies are cached: an empty one is retried next time
    rec.steps.append({"step": name, "output": out})
    return out


def _dim_fields(ctx: _Ctx, post: Post, dim_id: int) -> dict[str, str]:
    d = ctx.dims[dim_id]
    return {
        "post": post.post,
        "dimension_name": d.name,
        "aim": d.aim,
        "standards": d.standards,
        "question": APPRAISAL_QUESTIONS[dim_id],
    }


async def _generate_item(ctx: _Ctx, task: _Task) -> GenerationRecord:
    """All steps of one item, by strategy; a failed step makes a failed record (never an empty response)."""
    s = ctx.system
    rec = GenerationRecord(item_id=task.item_id, post_id=task.post.post_id, dimension_id=task.dimension_id)
    try:
        if s.strategy == "individual":
            assert task.dimension_id is not None  # individual tasks are built per dimension
            f = _dim_fields(ctx, task.post, task.dimension_id)
            if s.appraisal_step:
                f["appraisal"] = await _step(ctx, rec, f"appraisal@{task.dimension_id}", s.appraisal_template, f)
            rec.response = await _step(ctx, rec, f"reappraise@{task.dimension_id}", s.dimension_template, f)
            return rec
        response = await _step(ctx, rec, "initial", s.template, {"post": task.post.post})
        if s.strategy == "iterative":
            for dim_id in ctx.dimension_ids:
                f = _dim_fields(ctx, task.post, dim_id)
                if s.appraisal_step:
                    f["appraisal"] = await _step(ctx, rec, f"appraisal@{dim_id}", s.appraisal_template, f)
                response = await _step(ctx, rec, f"revise@{dim_id}", s.revise_template, {**f, "response": response})
        elif s.strategy == "self_refine":
            for r in range(s.rounds):
                f = {"post": task.post.post, "response": response}
                f["feedback"] = await _step(ctx, rec, f"feedback@{r}", s.feedback_template, f)
                response = await _step(ctx, rec, f"refine@{r}", s.refine_template, f)
        rec.response = response
    except _StepFailed as exc:
        rec.response, rec.error = None, str(exc)
    return rec


# -- the run ------------------------------------------------------------------------------------------------------


def _tasks(cfg: GenerateConfig, dimension_ids: list[int]) -> list[_Task]:
    name = cfg.system.name
    if cfg.system.per_dimension_items:
        return [_Task(f"{name}:{p.post_id}:{d}", p, d) for p in cfg.posts for d in dimension_ids]
    return [_Task(f"{name}:{p.post_id}", p, None) for p in cfg.posts]


def read_records(out: Path) -> dict[str, GenerationRecord]:
    """Successful records of an output dir by item id (first wins; a partial last line from a kill is skipped)."""
    done: dict[str, GenerationRecord] = {}
    for rec in read_appended(out / RECORDS, GenerationRecord, "a generation record"):
        if rec.response is not None:
            done.setdefault(rec.item_id, rec)
    return done


def _check_manifest(cfg: GenerateConfig) -> None:
    """Refuse an output directory holding generations of another system. One that holds none yet (a start that
    failed or was killed before the first item) is no output to protect: its manifest is written anew."""
    path = cfg.out / MANIFEST
    h = cfg.system.content_hash()
    if path.exists() and _has_a_record(cfg.out / RECORDS):
        old = load_document(path, GenerationManifest, "generation manifest", fmt="json")
        if old.system_hash != h or old.system.get("name") != cfg.system.name:
            raise UsageError(
                f"{cfg.out} holds generations of another system ({old.system.get('name')}#{old.system_hash}, "
                f"not {cfg.system.name}#{h}); choose a new --out to keep both"
            )
        return
    m = GenerationManifest(
        system=cfg.system.model_dump(mode="json"),
        system_hash=h,
        posts_source=cfg.posts_source,
        command=cfg.command,
    )
    write_json(path, m.model_dump(mode="json"))


def _has_a_record(path: Path) -> bool:
    """Whether a record file holds a whole line (a kill's partial line does not count)."""
    if not path.exists():
        return False
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            if b"\n" in chunk:
                return True
    return False


async def _run_tasks(ctx: _Ctx, todo: list[_Task], out: Path, concurrency: int) -> list[GenerationRecord]:
    sem = asyncio.Semaphore(max(1, concurrency))
    results: list[GenerationRecord] = []
    with AppendedRecords(out / RECORDS) as records:

        async def one(task: _Task) -> None:
            async with sem:
                rec = await _generate_item(ctx, task)
            records.append(rec)  # one whole line, flushed: a kill leaves at most a partial last line
            results.append(rec)

        await asyncio.gather(*(one(t) for t in todo))
    from judge.engine.client import shutdown_background

    if ctx.calls:
        await shutdown_background()
    return results


def run_generation(cfg: GenerateConfig) -> GenerationSummary:
    """Generate (or finish generating) every item; write items.jsonl atomically from the records at the end.

    Raises:
        UsageError: an unknown dimension, a concurrency below 1, or an output directory that cannot be written
            (before any call).
    """
    if cfg.concurrency < 1:
        raise UsageError(f"--concurrency must be between 1 and 10000, got {cfg.concurrency}")
    check_writable_dir(cfg.out, "--out")
    with locked(cfg.out, f"--out {cfg.out}"):  # one writer of the output directory at a time
        return _generate(cfg)


def _generate(cfg: GenerateConfig) -> GenerationSummary:
    t0 = time.monotonic()
    dims = dimension_texts()
    dimension_ids = cfg.dimensions or cfg.system.dimensions
    unknown = [d for d in dimension_ids if d not in dims or d not in APPRAISAL_QUESTIONS]
    if unknown:
        raise UsageError(f"--dimensions: unknown dimension ids {unknown}; expected some of {sorted(dims)}")
    spec = generator_spec(cfg.system)  # refused before anything is written
    cfg.out.mkdir(parents=True, exist_ok=True)
    _check_manifest(cfg)
    tasks = _tasks(cfg, dimension_ids)
    done = read_records(cfg.out)
    todo = [t for t in tasks if t.item_id not in done]
    cache = Cache(cfg.cache_dir)
    ctx = _Ctx(cfg.system, spec, cache, cfg.read_cache, dims, dimension_ids)
    try:
        if todo and spec.is_local:  # a model that cannot be loaded stops here, not once per call after retries
            from judge.engine.local.provider import load_engine

            load_engine(spec.model)
        new = asyncio.run(_run_tasks(ctx, todo, cfg.out, cfg.concurrency)) if todo else []
    finally:
        cache.close()
    for rec in new:
        if rec.response is not None:
            done.setdefault(rec.item_id, rec)
    items = [_item(cfg.system, t, done[t.item_id], dims) for t in tasks if t.item_id in done]
    _write_benchmark(cfg, items)
    return GenerationSummary(
        out=str(cfg.out),
        system=cfg.system.name,
        system_hash=cfg.system.content_hash(),
        items=len(items),
        generated=sum(r.response is not None for r in new),
        skipped=len(tasks) - len(todo),
        failed={r.item_id: r.error or "unknown" for r in new if r.response is None},
        model_calls=ctx.calls,
        cache_hits=ctx.hits,
        wall_s=round(time.monotonic() - t0, 3),
    )


def _item(system: SystemConfig, task: _Task, rec: GenerationRecord, dims: dict[int, Dimension]) -> Item:
    d = dims.get(task.dimension_id) if task.dimension_id is not None else None
    return Item(
        item_id=task.item_id,
        post_id=task.post.post_id,
        post=task.post.post,
        response=rec.response or "",
        system={"model": system.model, "pipeline": system.strategy, "method": system.name},
        dimension_id=task.dimension_id,
        dimension_aim=d.aim if d else None,
        standards=d.standards if d else None,
        meta={"system_hash": system.content_hash(), "steps": len(rec.steps)},
    )


def _write_benchmark(cfg: GenerateConfig, items: Iterable[Item]) -> None:
    manifest = BenchmarkManifest(
        name=f"generated-{cfg.system.name}",
        description=f"Responses of system {cfg.system.name}#{cfg.system.content_hash()} ({cfg.system.strategy}).",
        source="judge generate" + (f" from {cfg.posts_source}" if cfg.posts_source else ""),
    )
    bench = Benchmark(path=cfg.out, manifest=manifest, items={it.item_id: it for it in items})
    save_benchmark(bench, cfg.out)
