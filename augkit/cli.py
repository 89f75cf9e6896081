"""The command line: a thin veneer over the library. Library errors become messages and
exit codes here and nowhere else (SPEC section 4)."""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click

from augkit import __version__
from augkit.errors import RunFailed, UserError


def _input_options(fn):
    """--input/--data-dir/--delimiter: where the sources come from."""
    fn = click.option("--delimiter", type=click.Choice(["tab", "space"]), default="tab", show_default=True,
                      help="What separates path from label: a tab (PaddleOCR) or the first run of whitespace.")(fn)
    fn = click.option("--data-dir", type=click.Path(path_type=Path), default=None,
                      help="Root the image paths are relative to [default: the label file's folder].")(fn)
    fn = click.option("--input", "input_", type=click.Path(path_type=Path), default=None,
                      help="PaddleOCR label file (path<TAB>label) [default: the bundled sample set].")(fn)
    return fn


def _variant_options(fn):
    """--strong/--weak and their recipes, and --seed."""
    fn = click.option("--seed", type=int, default=0, show_default=True, help="Run seed; same seed, same bytes.")(fn)
    fn = click.option("--recipe-weak", default="weak", show_default=True, help="Weak recipe: weak, original (the original procedure's) or a YAML file.")(fn)
    fn = click.option("--recipe-strong", default="strong", show_default=True, help="Strong recipe: strong, original (the original procedure's) or a YAML file.")(fn)
    fn = click.option("--weak", "n_weak", type=click.IntRange(min=0), default=3, show_default=True, help="Weak variants per source.")(fn)
    fn = click.option("--strong", "n_strong", type=click.IntRange(min=0), default=7, show_default=True, help="Strong variants per source.")(fn)
    return fn


def _user_errors(fn):
    """Turn library errors into one-line messages and exit codes."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            click.echo(f"augkit: error: {exc}", err=True)
            sys.exit(2)
        except RunFailed as exc:
            click.echo(f"augkit: run failed: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("augkit: interrupted; run the same command again to resume", err=True)
            sys.exit(130)

    return wrapper


def _resolve_input(input_: Path | None, data_dir: Path | None) -> tuple[Path, Path]:
    from augkit.sample_set import sample_labels

    label_file = input_ if input_ is not None else sample_labels()
    if not label_file.exists():
        raise UserError(f"label file {label_file} does not exist; pass --input a PaddleOCR label file")
    root = data_dir if data_dir is not None else label_file.parent
    if not root.is_dir():
        raise UserError(f"data dir {root} is not a folder; pass --data-dir the folder image paths are relative to")
    return label_file, root


def _plan(n_strong: int, n_weak: int, recipe_strong: str, recipe_weak: str):
    from augkit.recipe import VariantPlan, load_recipe

    return VariantPlan(load_recipe(recipe_strong, "strong"), load_recipe(recipe_weak, "weak"), n_strong, n_weak)


def _echo_run_summary(summary: dict, out: Path, what: str) -> None:
    """The closing line of a generate or synth run; `what` names its images and sources."""
    c = summary["counts"]
    made = what.format(images=c["images"], sources=c["sources"])
    if summary.get("already_complete"):
        click.echo(f"already complete: {out} holds {made}; nothing to do")
        return
    t = summary["timings"]["wall_seconds_this_invocation"]
    split = (f"{c['lmdb/train']:,} train and {c['lmdb/val']:,} val samples in LMDB databases under lmdb/, "
             if "lmdb/train" in c else f"{c['train.txt']:,} train lines, {c['val.txt']:,} val lines, ")
    click.echo(f"wrote {made} to {out} in {t:.1f} s ({split}"
               + (f"{c['rec_train.txt']:,} + {c['rec_val.txt']:,} rec crop lines, " if "rec_train.txt" in c else "")
               + f"{c['rejects']:,} rejects"
               f"{' listed in rejects.tsv' if c['rejects'] else ''})")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="augkit")
@click.option("-v", "--verbose", is_flag=True, help="Log more detail.")
def cli(verbose: bool) -> None:
    """augkit: realistic text-line training images for PaddleOCR, at scale."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s")


@cli.command()
@_input_options
@_variant_options
@click.option("--recipe", default=None, help="Preview one recipe (built-in name or file) for every variant.")
@click.option("--count", type=click.IntRange(1, 20), default=3, show_default=True, help="How many sources to show.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="PNG file to write.")
@click.option("--task", type=click.Choice(["rec", "det"]), default="rec", show_default=True,
              help="det: pages from --input annotations, their polygons drawn.")
@click.option("--format", "fmt", type=click.Choice(["paddle-det", "icdar2015", "sroie"]), default="paddle-det",
              show_default=True, help="--task det: the page annotations' format.")
@_user_errors
def preview(input_, data_dir, delimiter, n_strong, n_weak, recipe_strong, recipe_weak, seed, recipe, count, out, task,
            fmt):
    """Render a contact sheet: a few sources with all their variants, captioned with the parameters used."""
    from augkit.preview import preview as render

    if task == "det":
        from augkit.detect.preview import preview_det

        if input_ is None:
            raise UserError("augkit preview --task det needs --input: page annotations")
        if recipe is not None:
            recipe_strong = recipe_weak = recipe
        images = data_dir if data_dir is not None else (input_ if input_.is_dir() else input_.parent)
        preview_det(out, _plan(n_strong, n_weak, recipe_strong, recipe_weak), seed, fmt, input_, images, count=count)
        click.echo(f"wrote {out}")
        return

    label_file, root = _resolve_input(input_, data_dir)
    if recipe is not None:
        recipe_strong = recipe_weak = recipe
    plan = _plan(n_strong, n_weak, recipe_strong, recipe_weak)
    render(out, plan, seed, label_file, root, count=count, delimiter=delimiter)
    click.echo(f"wrote {out}")


@cli.command()
@_input_options
@_variant_options
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output root (PaddleOCR data_dir).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes (loky) or cluster slots.")
@click.option("--shard-size", type=click.IntRange(min=1), default=1000, show_default=True, help="Source lines per shard (unit of work and of resume).")
@click.option("--max-per-folder", type=click.IntRange(min=1), default=500_000, show_default=True, help="Most images in one images_NNNNN folder.")
@click.option("--jpeg-quality", type=click.IntRange(1, 100), default=95, show_default=True)
@click.option("--val-fraction", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0, show_default=True,
              help="Fraction of sources (never single variants) written to val.txt.")
@click.option("--group-variants", is_flag=True, help='Write PaddleOCR\'s list form: ["a.jpg", "b.jpg"]<TAB>label.')
@click.option("--keep-source", is_flag=True,
              help="Also write every source itself (variant 00: its own bytes when it is a JPEG) and list it with "
                   "its variants, so one label file trains on the clean crops and their augmentations.")
@click.option("--dict", "dict_file", type=click.Path(path_type=Path), default=None,
              help="Character dictionary: labels with other characters are rejected.")
@click.option("--max-text-length", type=click.IntRange(min=1), default=None, help="Reject longer labels.")
@click.option("--space/--no-space", "allow_space", default=True, show_default=True,
              help="Whether labels may hold a space, as PaddleOCR's use_space_char: --no-space rejects labels "
                   "with a space unless the --dict file has a space line (for configs with use_space_char: "
                   "false, e.g. rec_crnn_mrz).")
@click.option("--max-error-rate", type=click.FloatRange(0.0, 1.0), default=0.01, show_default=True,
              help="Fail the run when more than this fraction of lines is rejected.")
@click.option("--backend", type=click.Choice(["loky", "ray", "dask"]), default="loky", show_default=True)
@click.option("--address", default=None, help="Ray or Dask scheduler address [default: start a local cluster].")
@click.option("--output-format", type=click.Choice(["files", "lmdb"]), default="files", show_default=True,
              help="files: JPEGs in images_NNNNN/ with train.txt/val.txt; lmdb: the same images in LMDB databases "
                   "under lmdb/train and lmdb/val (PaddleOCR's LMDBDataSet), one per shard and folder.")
@click.option("--task", type=click.Choice(["rec", "det"]), default="rec", show_default=True,
              help="rec: text-line crops; det: whole pages, their polygons moved with the pixels.")
@click.option("--format", "fmt", type=click.Choice(["paddle-det", "icdar2015", "sroie"]), default="paddle-det",
              show_default=True, help="--task det: the page annotations' format (--input a file, or a folder of them).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_user_errors
def generate(input_, data_dir, delimiter, n_strong, n_weak, recipe_strong, recipe_weak, seed, out, workers, shard_size,
             max_per_folder, jpeg_quality, val_fraction, group_variants, keep_source, dict_file, max_text_length,
             allow_space, max_error_rate, backend, address, output_format, task, fmt, quiet):
    """Write N strong + M weak variants of every source as JPEGs with PaddleOCR label files (resumable).
    With --task det, of every annotated page, with PaddleOCR det labels."""
    from augkit.generate import generate as run, make_config
    from augkit.reader import load_dictionary

    if task == "det":
        if output_format != "files":
            raise UserError("--output-format lmdb holds recognition samples (one image, one label); --task det "
                            "writes pages with det labels as files only")
        if input_ is None:
            raise UserError("augkit generate --task det needs --input: page annotations (a det label file, "
                            "or an ICDAR 2015 / SROIE folder with --format)")
        from augkit.detect.augment import generate_det, make_det_config
        from augkit.recipe import load_recipe_data

        images = data_dir if data_dir is not None else (input_ if input_.is_dir() else input_.parent)
        config, shards, pages = make_det_config(
            fmt, [input_], images, out, load_recipe_data(recipe_strong, "strong")[0],
            load_recipe_data(recipe_weak, "weak")[0], n_strong=n_strong, n_weak=n_weak, seed=seed,
            shard_size=min(shard_size, 50) if shard_size == 1000 else shard_size, max_per_folder=max_per_folder,
            jpeg_quality=jpeg_quality, val_fraction=val_fraction)
        summary = generate_det(config, shards, pages, workers=workers, backend=backend, address=address,
                               max_error_rate=max_error_rate, progress=not quiet)
        _echo_run_summary(summary, out, "{images:,} page images from {sources:,} pages")
        return

    label_file, root = _resolve_input(input_, data_dir)
    charset = load_dictionary(dict_file) if dict_file is not None else None
    config = make_config(label_file, root, out, recipe_strong, recipe_weak, charset=charset, n_strong=n_strong,
                         n_weak=n_weak, seed=seed, delimiter=delimiter, shard_size=shard_size,
                         max_per_folder=max_per_folder, jpeg_quality=jpeg_quality, val_fraction=val_fraction,
                         group_variants=group_variants, max_text_length=max_text_length, allow_space=allow_space,
                         keep_source=keep_source, output_format=output_format)
    summary = run(config, workers=workers, backend=backend, address=address, max_error_rate=max_error_rate,
                  progress=not quiet)
    _echo_run_summary(summary, out, "{images:,} images from {sources:,} sources")


@cli.command()
@click.option("--kind", type=click.Choice(["mrz", "bz", "korean-name", "text", "page"]), required=True,
              help="mrz: ICAO 9303 zones, one crop per line; bz: passport data-page fields; korean-name: Hangul "
                   "names; text: the lines of --corpus; page: whole passport data pages with PaddleOCR det labels.")
@click.option("--count", type=click.IntRange(min=1), default=None,
              help="Items to make (mrz: documents, of 2 or 3 line crops each) [required]; with --kind text: crops "
                   "per corpus line [default: 1].")
@click.option("--corpus", type=click.Path(path_type=Path), default=None,
              help="UTF-8 text file, one text per line (--kind text).")
@click.option("--font", "fonts", type=click.Path(path_type=Path), multiple=True,
              help="Font file to render with (repeatable) [default: OCR-B (bundled) for MRZ; DejaVu/Liberation and "
                   "Nanum/Noto CJK from the system font folders].")
@click.option("--height", type=click.IntRange(16, 512), default=48, show_default=True, help="Crop height in pixels.")
@click.option("--mrz-layout", "mrz_layouts", type=click.Choice(["TD1", "TD2", "TD3"]), multiple=True,
              help="MRZ layouts to draw from (repeatable) [default: all three].")
@click.option("--romanised", is_flag=True, help="korean-name: also write each name's romanised line as a crop.")
@click.option("--rec-crops", is_flag=True,
              help="page: also cut every line out as a recognition crop (--height high), listed in "
                   "rec_train.txt / rec_val.txt beside the pages' train.txt / val.txt.")
@click.option("--seed", type=int, default=0, show_default=True, help="Run seed; same seed, same bytes.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output root (PaddleOCR data_dir).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes (loky) or cluster slots.")
@click.option("--shard-size", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Items (or corpus lines) per shard (unit of work and of resume).")
@click.option("--max-per-folder", type=click.IntRange(min=1), default=500_000, show_default=True, help="Most images in one images_NNNNN folder.")
@click.option("--jpeg-quality", type=click.IntRange(1, 100), default=95, show_default=True)
@click.option("--val-fraction", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0, show_default=True,
              help="Fraction of items (all crops of one item together) written to val.txt.")
@click.option("--max-error-rate", type=click.FloatRange(0.0, 1.0), default=0.01, show_default=True,
              help="Fail the run when more than this fraction of items is rejected.")
@click.option("--output-format", type=click.Choice(["files", "lmdb"]), default="files", show_default=True,
              help="files: JPEGs in images_NNNNN/ with train.txt/val.txt; lmdb: the same images in LMDB databases "
                   "under lmdb/train and lmdb/val (PaddleOCR's LMDBDataSet), one per shard and folder.")
@click.option("--backend", type=click.Choice(["loky", "ray", "dask"]), default="loky", show_default=True)
@click.option("--address", default=None, help="Ray or Dask scheduler address [default: start a local cluster].")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_user_errors
def synth(kind, count, corpus, fonts, height, mrz_layouts, romanised, rec_crops, seed, out, workers, shard_size,
          max_per_folder, jpeg_quality, val_fraction, max_error_rate, output_format, backend, address, quiet):
    """Render labelled text-line crops (MRZ lines, BZ fields, Korean names, corpus lines) in augkit
    generate's output layout, deterministically and resumably."""
    from augkit.synth.config import make_synth_config
    from augkit.synth.run import synth as run

    if count is None:
        if kind != "text":
            raise UserError(f"--kind {kind} needs --count N (how many items to make)")
        count = 1
    options = {"mrz_layouts": tuple(mrz_layouts)} if mrz_layouts else {}
    config = make_synth_config(kind, count, out, fonts=list(fonts), corpus=corpus, seed=seed, height=height,
                               romanised=romanised, rec_crops=rec_crops, shard_size=shard_size,
                               max_per_folder=max_per_folder,
                               jpeg_quality=jpeg_quality, val_fraction=val_fraction, output_format=output_format,
                               **options)
    summary = run(config, workers=workers, backend=backend, address=address, max_error_rate=max_error_rate,
                  progress=not quiet)
    _echo_run_summary(summary, out, "{images:,} crops of {sources:,} items")


@cli.command()
@click.argument("labels", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["paddle-det", "icdar2015", "sroie"]), required=True,
              help="paddle-det: path<TAB>[{\"transcription\", \"points\"}] lines (PPOCRLabel); icdar2015: gt_*.txt "
                   "files; sroie: SROIE 2019 task-1 .csv box files. Folders are expanded for the last two.")
@click.option("--images", type=click.Path(path_type=Path), required=True, help="Folder holding the page images.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output root (PaddleOCR data_dir).")
@click.option("--height", type=click.IntRange(8, 512), default=None,
              help="Scale every crop to this height, keeping its aspect ratio [default: natural size].")
@click.option("--val-fraction", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0, show_default=True,
              help="Fraction of pages (all lines of a page together) written to val.txt.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the page split.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes (loky) or cluster slots.")
@click.option("--shard-size", type=click.IntRange(min=1), default=50, show_default=True,
              help="Pages per shard (unit of work and of resume).")
@click.option("--max-per-folder", type=click.IntRange(min=1), default=500_000, show_default=True, help="Most images in one images_NNNNN folder.")
@click.option("--jpeg-quality", type=click.IntRange(1, 100), default=95, show_default=True)
@click.option("--max-error-rate", type=click.FloatRange(0.0, 1.0), default=0.01, show_default=True,
              help="Fail the run when more than this fraction of regions is rejected (don't-care ### regions "
                   "are listed in rejects.tsv but not counted).")
@click.option("--output-format", type=click.Choice(["files", "lmdb"]), default="files", show_default=True,
              help="files: JPEGs in images_NNNNN/ with train.txt/val.txt; lmdb: the same images in LMDB databases "
                   "under lmdb/train and lmdb/val (PaddleOCR's LMDBDataSet), one per shard and folder.")
@click.option("--backend", type=click.Choice(["loky", "ray", "dask"]), default="loky", show_default=True)
@click.option("--address", default=None, help="Ray or Dask scheduler address [default: start a local cluster].")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_user_errors
def crop(labels, fmt, images, out, height, val_fraction, seed, workers, shard_size, max_per_folder, jpeg_quality,
         max_error_rate, output_format, backend, address, quiet):
    """Cut the annotated text lines of real pages out as rectified crops, in augkit generate's output
    layout (so they feed generate --input OUT/train.txt, config and eval unchanged); resumable."""
    from augkit.crop.run import crop as run, make_crop_config

    config, shards, regions = make_crop_config(fmt, list(labels), images, out, height=height, seed=seed,
                                               val_fraction=val_fraction, shard_size=shard_size,
                                               max_per_folder=max_per_folder, jpeg_quality=jpeg_quality,
                                               output_format=output_format)
    summary = run(config, shards, regions, workers=workers, backend=backend, address=address,
                  max_error_rate=max_error_rate, progress=not quiet)
    _echo_run_summary(summary, out, "{images:,} crops of {sources:,} pages")


@cli.command("crop-sheet")
@click.argument("crops", type=click.Path(path_type=Path))
@click.option("--pages", type=click.IntRange(1, 20), default=2, show_default=True, help="How many pages to show.")
@click.option("--first", type=click.IntRange(min=1), default=1, show_default=True,
              help="First page to show (counting pages with crops).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="PNG file to write.")
@_user_errors
def crop_sheet_command(crops, pages, first, out):
    """Render pages of an augkit crop output with their quads drawn, beside the crops cut from them."""
    from augkit.crop.sheet import crop_sheet

    click.echo(f"wrote {crop_sheet(crops, out, pages=pages, first=first)}")


@cli.command("config")
@click.argument("name")
@click.option("--data", type=click.Path(path_type=Path), required=True, help="Output root of augkit generate.")
@click.option("--val", type=click.Path(path_type=Path), default=None, help="Validation labels [default: DATA/val.txt].")
@click.option("--dict", "dict_file", type=click.Path(path_type=Path), default=None,
              help="Character dictionary [default: the config's bundled one].")
@click.option("--gpu/--cpu", "use_gpu", default=None, help="Force use_gpu [default: follow this machine].")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Where to write [default: DATA/NAME.yml].")
@_user_errors
def config_command(name, data, val, dict_file, use_gpu, out):
    """Make a bundled PaddleOCR config (or a .yml) run-ready for a generated data set; prints the train,
    export and ONNX conversion commands.

    NAME is one of the bundled configs (rec_svtr_lcnet_bz, rec_crnn_mrz, rec_crnn_korean, det_db_mv3)."""
    import shlex

    from augkit.paddle_config import export_commands, make_run_config, write_run_config

    config, notes = make_run_config(name, data, val, dict_file, use_gpu)
    out = out if out is not None else Path(data) / f"{Path(name).stem}.yml"
    write_run_config(config, out)
    for note in notes:
        click.echo(f"  {note}")
    gpu = "" if config["Global"]["use_gpu"] else " -o Global.use_gpu=False"
    click.echo(f"wrote {out}\nin a PaddleOCR checkout run:\n  python tools/train.py -c {Path(out).resolve()}{gpu}")
    commands = export_commands(config, Path(out).resolve())
    if commands is None:
        click.echo("note: PaddleOCR's tools/export_model.py exports this algorithm at a fixed input height other "
                   "than the trained one; see paddle_configs/README.md")
    else:
        click.echo("then export it (at the trained input height) and convert it to ONNX:")
        for command in commands:
            click.echo(f"  {shlex.join(command)}")


@cli.group()
def labels() -> None:
    """Check, describe and split PaddleOCR label files before training."""


def _labels_options(fn):
    fn = click.option("--delimiter", type=click.Choice(["tab", "space"]), default="tab", show_default=True)(fn)
    fn = click.argument("label_file", type=click.Path(path_type=Path))(fn)
    return fn


def _read_report(label_file, data_dir, delimiter, dict_file=None, max_text_length=None, check_images=True,
                 allow_space=True):
    from augkit.labels import check_labels
    from augkit.reader import LabelRules, load_dictionary

    if not label_file.exists():
        raise UserError(f"label file {label_file} does not exist (a folder is read as LMDB databases)")
    rules = LabelRules(charset=load_dictionary(dict_file) if dict_file else None, max_length=max_text_length,
                       allow_space=allow_space)
    return check_labels(label_file, data_dir, rules, delimiter, check_images)


@labels.command("check")
@_labels_options
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Root the image paths are relative to [default: the label file's folder].")
@click.option("--dict", "dict_file", type=click.Path(path_type=Path), default=None, help="Character dictionary.")
@click.option("--max-text-length", type=click.IntRange(min=1), default=None)
@click.option("--space/--no-space", "allow_space", default=True, show_default=True,
              help="Whether labels may hold a space (PaddleOCR's use_space_char); as in augkit generate.")
@click.option("--no-images", is_flag=True, help="Do not check that the images exist.")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None, help="Also write the report as JSON.")
@_user_errors
def labels_check(label_file, delimiter, data_dir, dict_file, max_text_length, allow_space, no_images, json_out):
    """Find what PaddleOCR would drop or mix up: bad lines, characters outside the dictionary,
    over-long labels, duplicate lines, images listed with two labels, missing images.
    Exits 1 when anything was found."""
    from augkit.labels import format_report, report_json

    report = _read_report(label_file, data_dir, delimiter, dict_file, max_text_length, not no_images, allow_space)
    click.echo(format_report(report))
    if json_out is not None:
        json_out.write_text(report_json(report) + "\n", encoding="utf-8")
    sys.exit(1 if report.problems else 0)


@labels.command("stats")
@_labels_options
@_user_errors
def labels_stats(label_file, delimiter):
    """Label-length histogram and character frequencies."""
    from augkit.labels import format_stats

    click.echo(format_stats(_read_report(label_file, None, delimiter, check_images=False)))


@labels.command("split")
@_labels_options
@click.option("--val-fraction", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--train-out", type=click.Path(path_type=Path), required=True)
@click.option("--val-out", type=click.Path(path_type=Path), required=True)
@_user_errors
def labels_split(label_file, delimiter, val_fraction, seed, train_out, val_out):
    """Split into train and validation label files by source: variants of one source never straddle the split."""
    from augkit.labels import split_labels

    if not label_file.is_file():
        raise UserError(f"label file {label_file} does not exist")
    counts = split_labels(label_file, train_out, val_out, val_fraction, seed, delimiter)
    skipped = f", {counts['skipped']:,} unusable lines left out" if counts["skipped"] else ""
    click.echo(f"{counts['train']:,} lines to {train_out}, {counts['val']:,} to {val_out}{skipped}")


@cli.command("eval")
@click.option("--model", "models", type=click.Path(path_type=Path), multiple=True,
              help="ONNX model or TensorRT engine (.engine/.plan/.trt); repeat for one engine per width.")
@click.option("--dict", "dict_file", type=click.Path(path_type=Path), default=None,
              help="The model's character dictionary [default: the one stored in the ONNX model, if any].")
@click.option("--space/--no-space", default=None,
              help="Whether the model has a space class after the dictionary [default: whichever matches its class count].")
@click.option("--labels", type=click.Path(path_type=Path), default=None, help="Validation label file (path<TAB>label).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Root the image paths are relative to [default: the label file's folder].")
@click.option("--delimiter", type=click.Choice(["tab", "space"]), default="tab", show_default=True)
@click.option("--height", type=click.IntRange(min=1), default=48, show_default=True, help="Model input height.")
@click.option("--width", "widths", type=click.IntRange(min=1), multiple=True,
              help="Model input width; repeat for width buckets [default: the model's fixed width, else 320].")
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True,
              help="Batch size; partial batches are zero-padded to it.")
@click.option("--backend", type=click.Choice(["auto", "onnxruntime", "tensorrt"]), default="auto", show_default=True,
              help="auto: TensorRT for engines, ONNX Runtime for .onnx.")
@click.option("--ignore-space", is_flag=True, help="Score with spaces removed.")
@click.option("--ignore-case", is_flag=True, help="Score case-insensitively.")
@click.option("--mrz", is_flag=True, help="Also score ICAO 9303 MRZ check digits and fields.")
@click.option("--warmup", type=click.IntRange(min=1), default=2, show_default=True, help="Untimed batches per width.")
@click.option("--no-prefetch", is_flag=True, help="Preprocess in the main thread (no overlap with the model).")
@click.option("--readers", type=click.IntRange(min=1), default=None,
              help="Threads reading and preprocessing crops ahead of the model [default: half the CPUs, at most 8].")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Report folder to write.")
@click.option("--compare", type=click.Path(path_type=Path), nargs=2, default=None, metavar="A B",
              help="Compare two predictions files (or report folders) sample by sample instead.")
@click.option("--task", type=click.Choice(["rec", "det", "page"]), default="rec", show_default=True,
              help="rec: a recognition model on crops; det: a DB detection model on annotated pages; "
                   "page: --det then --rec on annotated pages, end to end.")
@click.option("--det", "det_model", type=click.Path(path_type=Path), default=None,
              help="--task page: the DB detection model (ONNX).")
@click.option("--rec", "rec_model", type=click.Path(path_type=Path), default=None,
              help="--task page: the recognition model (ONNX or engine); --dict, --space, --height, --width, "
                   "--batch, --ignore-case and --ignore-space apply to it.")
@click.option("--format", "fmt", type=click.Choice(["paddle-det", "icdar2015", "sroie"]), default="paddle-det",
              show_default=True, help="--task det: the page annotations' format (--labels: a file, or a folder of them).")
@click.option("--limit-side-len", type=click.IntRange(min=32), default=960, show_default=True,
              help="--task det: pages are resized so this side limit holds (PaddleOCR's det_limit_side_len).")
@click.option("--limit-type", type=click.Choice(["max", "min"]), default="max", show_default=True,
              help="--task det: max: the longer side at most the limit; min: the shorter side at least it.")
@click.option("--det-thresh", type=click.FloatRange(0, 1), default=0.3, show_default=True,
              help="--task det: probability threshold of the text map.")
@click.option("--box-thresh", type=click.FloatRange(0, 1), default=0.6, show_default=True,
              help="--task det: least mean probability inside a box.")
@click.option("--unclip-ratio", type=click.FloatRange(min=0), default=1.5, show_default=True,
              help="--task det: how far boxes are grown (area x ratio / perimeter).")
@click.option("--max-candidates", type=click.IntRange(min=1), default=1000, show_default=True,
              help="--task det: most text regions per page.")
@click.option("--min-size", type=click.IntRange(min=0), default=3, show_default=True,
              help="--task det: least short side of a box, in map pixels.")
@click.option("--iou", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.5, show_default=True,
              help="--task det: least IoU (exceeded) for a detection to match an annotated line.")
@click.option("--count", type=click.IntRange(min=1), default=None, help="--task det: score only the first N pages.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_user_errors
def eval_command(models, dict_file, space, labels, data_dir, delimiter, height, widths, batch, backend, ignore_space,
                 ignore_case, mrz, warmup, no_prefetch, readers, out, compare, task, det_model, rec_model, fmt,
                 limit_side_len, limit_type, det_thresh, box_thresh, unclip_ratio, max_candidates, min_size, iou, count,
                 quiet):
    """Score a recognition model through ONNX Runtime or TensorRT: predictions.jsonl, metrics.json,
    a console table and report.html in --out; or, with --compare A B, what changed between two runs.
    With --task det, score a DB detection model on annotated pages (ICDAR 2015 protocol); with
    --task page, detection and recognition together, end to end."""
    if task in ("det", "page"):
        if task == "page":
            if models:
                raise UserError("augkit eval --task page takes --det and --rec, not --model")
            missing = [n for n, v in (("--det", det_model), ("--rec", rec_model)) if not v]
            if missing:
                raise UserError(f"augkit eval --task page needs {', '.join(missing)}")
            models = (det_model,)
        config = _det_config(models, labels, fmt, data_dir, out, limit_side_len, limit_type, det_thresh, box_thresh,
                             unclip_ratio, max_candidates, min_size, iou, count)
        if task == "det":
            from augkit.detect.evaluate import evaluate_det

            doc = evaluate_det(config, progress=not quiet)
        else:
            from augkit.detect.page import PageEvalConfig, evaluate_page

            doc = evaluate_page(PageEvalConfig(det=config, rec_model=rec_model, dict_file=dict_file, space=space,
                                               rec_height=height, rec_widths=tuple(widths), batch=batch, backend=backend,
                                               ignore_space=ignore_space, ignore_case=ignore_case), progress=not quiet)
        m = doc["metrics"]
        click.echo(f"{doc['counts']['scored']} pages: detection precision {m['precision']:.4f}, recall {m['recall']:.4f}, "
                   f"H-mean {m['hmean']:.4f} ({m['matched']:,} matched of {m['annotated']:,} lines and "
                   f"{m['detected']:,} detections; {doc['timing']['pages_per_second']} pages/s)")
        if task == "page":
            z = doc["end_to_end"]
            click.echo(f"end to end: precision {z['precision']:.4f}, recall {z['recall']:.4f}, H-mean {z['hmean']:.4f} "
                       f"({z['lines_read']:,} lines read right; {z['missed']:,} missed, {z['spurious']:,} spurious; "
                       f"CER over matched lines {z['matched_cer']:.4f})")
        click.echo(f"wrote {out}/predictions.jsonl, detections.txt, metrics.json, rejects.tsv and report.html")
        return
    if compare:
        from augkit.eval.compare import compare_predictions, format_compare_table

        click.echo(format_compare_table(compare_predictions(compare[0], compare[1], ignore_space=ignore_space,
                                                            ignore_case=ignore_case)))
        return
    missing = [name for name, value in (("--model", models), ("--labels", labels), ("--out", out)) if not value]
    if missing:
        raise UserError(f"augkit eval needs {', '.join(missing)} (or --compare A B)")
    from augkit.eval.metrics import format_console_table
    from augkit.eval.pipeline import EvalConfig, evaluate

    config = EvalConfig(models=tuple(models), labels=labels, out=out, dict_file=dict_file, space=space,
                        data_dir=data_dir, height=height, widths=tuple(widths), batch=batch, backend=backend,
                        ignore_space=ignore_space, ignore_case=ignore_case, mrz=mrz, delimiter=delimiter,
                        warmup=warmup, prefetch=not no_prefetch, readers=readers or 0)
    document = evaluate(config, progress=not quiet)
    click.echo(format_console_table(document))
    click.echo(f"wrote {out}/predictions.jsonl, metrics.json, rejects.tsv and report.html")


def _det_config(models, labels, fmt, data_dir, out, limit_side_len, limit_type, det_thresh, box_thresh, unclip_ratio,
                max_candidates, min_size, iou, count):
    missing = [name for name, value in (("--model", models), ("--labels", labels), ("--out", out)) if not value]
    if missing:
        raise UserError(f"augkit eval --task det needs {', '.join(missing)}")
    if len(models) > 1:
        raise UserError("augkit eval --task det takes one --model")
    from augkit.detect.evaluate import DetEvalConfig
    from augkit.detect.postprocess import DBParams

    images = data_dir if data_dir is not None else (labels if labels.is_dir() else labels.parent)
    return DetEvalConfig(model=models[0], labels=(labels,), format=fmt, images=images, out=out,
                         limit_side_len=limit_side_len, limit_type=limit_type, iou=iou, limit=count,
                         db=DBParams(thresh=det_thresh, box_thresh=box_thresh, unclip_ratio=unclip_ratio,
                                     max_candidates=max_candidates, min_size=min_size))


def _heights(value: str | None) -> tuple[int, ...]:
    if not value:
        return ()
    try:
        heights = tuple(int(x) for x in value.split(","))
    except ValueError:
        raise UserError(f"--heights takes comma-separated pixel heights such as 16,32,64,128, got {value!r}") from None
    return heights


@cli.command("audit")
@click.option("--model", type=click.Path(path_type=Path), required=True,
              help="Reference recognition model (.onnx or TensorRT engine), e.g. PP-OCRv4 English.")
@click.option("--dict", "dict_file", type=click.Path(path_type=Path), default=None,
              help="The model's character dictionary [default: the one stored in the ONNX model, if any].")
@click.option("--space/--no-space", default=None,
              help="Whether the model has a space class [default: whichever matches its class count].")
@_input_options
@_variant_options
@click.option("--count", type=click.IntRange(min=1), default=500, show_default=True,
              help="Crops to audit: a seeded choice spread over the label file.")
@click.option("--all", "all_lines", is_flag=True, help="Audit every line (overrides --count).")
@click.option("--heights", default=None,
              help="Resample every crop to each of these heights first, e.g. 16,24,32,48,64,96,128 "
                   "[default: each crop at its own height].")
@click.option("--height", type=click.IntRange(min=1), default=48, show_default=True, help="Model input height.")
@click.option("--width", "widths", type=click.IntRange(min=1), multiple=True,
              help="Model input width; repeat for width buckets [default: the model's fixed width, else 320].")
@click.option("--batch", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--backend", type=click.Choice(["auto", "onnxruntime", "tensorrt"]), default="auto", show_default=True)
@click.option("--ignore-space", is_flag=True, help="Score with spaces removed.")
@click.option("--ignore-case", is_flag=True, help="Score case-insensitively.")
@click.option("--jpeg-quality", type=click.IntRange(1, 100), default=95, show_default=True,
              help="JPEG quality the variants are encoded at, as generate writes them.")
@click.option("--generated", type=click.Path(path_type=Path), default=None,
              help="Instead: check this finished generate output, variant by variant (with --min-readability).")
@click.option("--min-readability", type=click.FloatRange(0, 1), default=None,
              help="With --generated: list variants read below this 1 - CER whose source is read exactly.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Audit folder to write.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_user_errors
def audit_command(model, dict_file, space, input_, data_dir, delimiter, n_strong, n_weak, recipe_strong, recipe_weak,
                  seed, count, all_lines, heights, height, widths, batch, backend, ignore_space, ignore_case,
                  jpeg_quality, generated, min_readability, out, quiet):
    """Score a reference model on the clean crops, each recipe step alone and each variant: which
    settings erase the text, per crop height (audit.json, records.jsonl, report.html in --out)."""
    from augkit.eval.normalise import Normalisation

    if generated is not None:
        if min_readability is None:
            raise UserError("--generated needs --min-readability R (list variants read below 1 - CER = R)")
        from augkit.audit.check import check_generated
        from augkit.eval.recognizer import Recognizer

        with Recognizer(model, dict_file=dict_file, space=space, height=height, widths=tuple(widths), batch=batch,
                        backend=backend) as reader:
            counts = check_generated(generated, reader, min_readability, out,
                                     Normalisation(ignore_space=ignore_space, ignore_case=ignore_case),
                                     limit=None if all_lines else count)
        click.echo(f"{counts['unreadable']:,} of {counts['variants']:,} variants read below {min_readability} "
                   f"although their source is read ({counts['source_read']:,} of {counts['sources']:,} sources read); "
                   f"listed in {out}/unreadable.tsv, nothing removed")
        return
    if min_readability is not None:
        raise UserError("--min-readability checks a generated set: pass --generated ROOT with it")
    from augkit.audit import AuditConfig, audit

    label_file, root = _resolve_input(input_, data_dir)
    config = AuditConfig(model=model, labels=label_file, data_dir=root, out=out, dict_file=dict_file, space=space,
                         recipe_strong=recipe_strong, recipe_weak=recipe_weak, n_strong=n_strong, n_weak=n_weak,
                         seed=seed, count=None if all_lines else count, heights=_heights(heights), height=height,
                         widths=tuple(widths), batch=batch, backend=backend, ignore_case=ignore_case,
                         ignore_space=ignore_space, jpeg_quality=jpeg_quality, delimiter=delimiter)
    document = audit(config, progress=not quiet)
    from augkit.audit.run import format_summary

    click.echo(format_summary(document))
    click.echo(f"wrote {out}/audit.json, records.jsonl, rejects.tsv and report.html")


@cli.command("build-engine")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--height", type=click.IntRange(min=1), default=48, show_default=True)
@click.option("--width", type=click.IntRange(min=1), required=True, help="Input width of this engine.")
@click.option("--max-batch", type=click.IntRange(min=1), default=8, show_default=True,
              help="Largest batch (the profile's opt and max; min is 1).")
@click.option("--fp16", is_flag=True, help="FP16 engine (TensorRT 10: builder flag; TensorRT 11: the model must be FP16).")
@click.option("--timing-cache", type=click.Path(path_type=Path), default=None,
              help="Timing cache file, read before and written after the build.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Engine file to write.")
@_user_errors
def build_engine_command(model, height, width, max_batch, fp16, timing_cache, out):
    """Build a TensorRT engine from an ONNX recognition model for one input shape (needs TensorRT)."""
    from augkit.eval.engine import build_engine

    record = build_engine(model, out, height=height, width=width, max_batch=max_batch, fp16=fp16,
                          timing_cache=timing_cache)
    click.echo(f"wrote {out} (TensorRT {record['tensorrt_version']}, {record['precision']}, batch 1..{max_batch}, "
               f"{height}x{width}, {record['build_seconds']} s) and {out}.json")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="augkit")
