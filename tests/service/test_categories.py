"""A feed's category, end to end over HTTP: rules that keep to categories, the ``category:``
field in queries, and the digest and feed listing filtered by category."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.servers import FeedServer, rss

Cli = Callable[..., Result]


def test_rules_digests_and_listings_keep_to_categories(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """Three outlets with a TikTok story each (categories Asia/China, Tech, none): a rule with
    categories = ["Asia"] matches the first only, a query with category:tech the second only,
    and `digest --category` and `feeds --category` show the same split."""
    outlets = {
        "Beijing Wire": ("Asia/China", "TikTok talks in Beijing"),
        "Valley Post": ("Tech", "TikTok engineers move to Austin"),
        "Plain Daily": (None, "TikTok deadline extended again"),
    }
    blocks = []
    for n, (name, (category, title)) in enumerate(outlets.items()):
        url = feed_server.serve(f"/{n}.xml", rss(name, [(f"g{n}", title, "")]))
        blocks.append(f'[[feeds]]\nurl = "{url}"\nname = "{name}"\n')
        if category:
            blocks[-1] += f'category = "{category}"\n'
    path = tmp_path / "w.toml"
    path.write_text(
        f'[watcher]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\nnotify_backlog = true\n'
        'per_host_gap = "0s"\n'
        + "".join(blocks)
        + '[[rules]]\nname = "asia"\nquery = "TikTok"\ncategories = ["Asia"]\n'
        + '[[rules]]\nname = "tech"\nquery = "category:tech AND TikTok"\n'
        + '[[rules]]\nname = "all"\nquery = "TikTok"\n'
    )
    options = ["--config", str(path)]
    result = run_cli("run", "--once", *options)
    assert result.exit_code == 0, result.output
    printed = sorted(line.split(" http")[0] for line in result.stdout.splitlines())
    assert printed == sorted(
        [
            "[asia] TikTok talks in Beijing — Beijing Wire",
            "[tech] TikTok engineers move to Austin — Valley Post",
            "[all] TikTok talks in Beijing — Beijing Wire",
            "[all] TikTok engineers move to Austin — Valley Post",
            "[all] TikTok deadline extended again — Plain Daily",
        ]
    )

    digest = json.loads(
        run_cli("digest", "--format", "json", "--category", "asia", *options).stdout
    )
    assert {(s["source"], s["category"]) for s in digest["stories"]} == {
        ("Beijing Wire", "Asia/China")
    }
    assert digest["filters"]["category"] == "asia"
    table = run_cli("digest", "--format", "csv", "--category", "Tech", *options).stdout
    rows = list(csv.DictReader(io.StringIO(table)))
    assert {(row["source"], row["category"]) for row in rows} == {("Valley Post", "Tech")}
    page = run_cli("digest", "--format", "html", *options).stdout
    assert "Beijing Wire [Asia/China]" in page
    listed = json.loads(run_cli("feeds", "--json", "--category", "Asia/China", *options).stdout)
    assert [feed["name"] for feed in listed] == ["Beijing Wire"]
