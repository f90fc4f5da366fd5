"""Writes `hparam_lists/data/opt-list-nadamw.json`: Google's published nadamw list, as a taskset list.

    python scripts/make_opt_list.py            # rewrite the artifact
    python scripts/make_opt_list.py --check    # exit 1 if the shipped artifact differs

Source: google-research/google-research, opt_list (Metz et al. 2020, "Using a
thousand optimization tasks to learn hyperparameter search strategies",
arXiv:2002.11887; Apache-2.0). Its two data files:
- `opt_list/opt_list/nadamw_opt_list.txt`: the list, 1,000 config names in order,
  `nadamw_grid_seed251`, `nadamw_grid_seed611`, ... (a permutation of seeds 0-999);
  transcribed below as `PUBLISHED_ORDER`.
- `opt_list/opt_list/nadamw_configs.json`: name -> [hparams, "nadamw_grid"]. Each
  entry is TaskSet's sampler `sample_nadamw_grid(seed)` (task_set/optimizers/nadamw.py,
  numpy RandomState(seed + 14358), `utils.sample_log_float`), so the hparams are
  regenerated with the transcription of that sampler in
  `taskset.optimizers.taskset_grid` (also what `curves.taskset_convert` reads)
  instead of being copied by hand; tests/hparam_lists/test_opt_list.py checks
  entries against values copied from the published JSON, float for float.

Names are mapped to our `nadamw` space (learning_rate -> lr, epsilon -> eps,
min_learning_rate_mult -> min_lr_mult, use_nesterov -> nesterov) and the entries
are of family `nadamw_tf1`, the TF1 update the list was learned with. nesterov
is 0 for every entry: TaskSet's getter and opt_list's TF `optimizer_for_idx`
never pass use_nesterov to the optimizer, so the curves the list was learned
from ran without it (see taskset/optimizers/nadamw_tf1.py); each entry keeps the
published config, flag included, under "source_hparams".
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from taskset.optimizers.taskset_grid import NADAMW_GRID_PREFIX, taskset_nadamw_grid  # noqa: E402

OUT = ROOT / "hparam_lists" / "data" / "opt-list-nadamw.json"
PUBLISHED_ORDER = tuple(int(s) for s in """
    251 611 799 209 739 713 437 25 342 743 515 324 135 705 934 741 119 770 794 189 829 607 68 958 700 527 865 807
    364 374 639 579 494 409 153 697 797 986 111 410 274 941 150 853 90 422 795 937 148 787 116 336 198 327 693 390
    999 801 118 385 296 597 726 900 338 985 249 672 760 160 507 666 944 8 604 12 344 989 261 966 343 247 493 175
    350 17 476 509 161 813 407 18 191 58 996 230 203 621 737 165 426 180 529 181 447 964 594 348 96 39 159 368 919
    252 695 321 292 452 692 593 414 225 239 889 904 421 483 808 605 876 535 823 606 724 762 187 752 255 65 550 413
    439 371 569 152 943 590 329 245 103 298 471 34 223 114 803 753 7 761 698 933 71 376 310 613 300 980 319 868 193
    323 679 499 302 53 728 842 723 333 27 392 462 228 54 963 637 616 406 686 824 258 381 534 16 827 238 852 759 562
    427 234 345 137 906 626 346 416 31 614 945 536 356 67 206 398 146 124 197 408 306 634 4 820 164 589 673 453 481
    953 243 339 545 328 341 411 465 220 523 834 60 547 55 782 833 136 281 561 600 910 792 5 500 503 158 46 479 624
    653 313 669 29 488 331 335 417 796 573 778 779 521 846 66 496 712 967 924 215 289 141 704 221 384 725 226 273
    981 23 98 76 769 880 282 857 15 322 155 271 533 519 968 387 317 877 894 432 745 740 316 510 399 270 694 898 126
    100 849 576 183 423 839 541 776 809 132 40 464 397 854 707 544 42 233 654 816 790 395 340 121 871 942 935 773
    373 463 405 361 595 777 22 418 190 388 127 185 125 577 84 615 781 775 219 969 936 742 268 563 721 235 196 466
    128 749 231 696 450 147 793 993 497 461 628 539 747 663 120 655 172 105 363 574 567 382 44 664 179 129 629 280
    720 490 218 64 320 326 516 995 708 812 729 130 400 890 847 32 287 862 49 638 456 480 551 802 640 814 805 262
    123 112 78 224 459 804 703 706 45 940 665 645 599 878 727 299 668 658 138 445 542 902 691 454 987 903 69 151
    845 201 430 2 722 649 312 290 478 524 875 451 974 960 575 956 278 835 938 59 843 162 52 227 508 431 532 443 908
    170 780 718 667 394 783 530 716 581 248 389 881 178 115 681 232 925 961 570 449 734 279 87 994 531 714 140 859
    199 182 43 277 3 892 473 94 256 625 772 176 584 873 951 401 684 47 861 928 660 195 99 240 635 428 538 386 558
    855 367 992 784 525 214 998 620 751 764 355 540 636 216 652 97 771 311 819 429 864 257 949 912 591 38 955 351
    785 484 851 887 646 983 840 285 765 976 571 212 492 676 838 133 907 583 888 622 173 675 352 149 402 504 229 939
    330 354 899 487 404 738 886 768 930 177 26 774 131 318 758 786 572 921 965 554 631 766 0 560 104 301 415 244
    587 962 156 931 702 750 677 145 217 505 85 526 929 926 552 788 811 304 63 601 444 448 194 30 143 619 717 372
    101 548 688 10 236 56 82 821 210 867 670 950 610 489 200 501 603 988 555 836 817 630 895 641 872 565 242 564
    286 866 107 474 661 517 837 391 383 420 393 412 991 682 869 856 36 284 627 19 424 482 266 733 735 511 380 288
    585 680 818 14 689 520 485 51 75 990 754 848 755 377 922 719 134 166 106 896 102 732 662 440 946 651 297 502
    832 954 362 436 971 6 441 253 11 710 959 92 275 828 831 491 891 91 276 883 970 917 139 272 309 648 715 202 979
    358 841 972 512 403 83 267 586 789 744 70 860 916 359 678 308 144 469 612 602 977 830 901 237 568 186 518 858
    117 347 893 294 618 798 213 756 62 844 446 470 559 982 154 458 632 79 468 596 472 592 882 920 701 307 767 826
    28 314 205 650 433 952 608 24 498 685 549 580 763 379 57 588 264 163 746 265 975 167 168 885 357 369 360 623
    825 396 74 122 914 537 475 757 578 157 927 506 425 656 467 291 984 457 659 419 748 522 460 184 315 9 110 192
    169 81 37 207 671 973 174 61 305 997 683 21 810 948 617 822 514 303 222 378 259 435 897 477 93 909 325 947 874
    643 33 50 791 442 241 365 815 736 644 731 366 142 370 88 455 375 674 711 730 513 647 806 48 211 879 250 113 850
    86 204 687 260 72 246 95 89 332 41 1 905 337 863 188 334 208 609 495 566 657 486 35 254 353 633 13 699 295 870
    978 556 923 269 884 293 911 553 800 349 709 913 263 598 582 557 77 434 80 546 109 528 20 543 108 915 932 171
    690 957 73 642 438 918 283
""".split())
"""The seeds of nadamw_opt_list.txt, in its order (entry 0 is nadamw_grid_seed251)."""

SOURCE = {
    "name": "opt_list nadamw (Google Research)",
    "repository": "google-research/google-research",
    "files": {
        "opt_list/opt_list/nadamw_opt_list.txt": "7b6651581a0867cc5a013820eff27385a56b77b9",
        "opt_list/opt_list/nadamw_configs.json": "1f7bb5f22562cd17e52ce5660f2d4cc7a60894b8",
    },
    "version": "opt_list 0.0.0 (its setup.py); the files as stored at the commits given under files",
    "licence": "Apache-2.0, Copyright The Google Research Authors",
    "paper": "Metz et al. 2020, arXiv:2002.11887",
    "semantics": "nadamw_tf1: TaskSet's TF1 NAdamWOptimizer and cosine schedule (task_set/optimizers/nadamw.py)",
    "notes": [
        "hparams regenerated with a transcription of TaskSet's sample_nadamw_grid(seed), seeds 0-999; "
        "source_hparams hold them under the published names",
        "nesterov is 0 in hparams: TaskSet's get_nadamw and opt_list's TF optimizer_for_idx never pass "
        "use_nesterov, so the list's curves ran without it; source_hparams.use_nesterov is the published flag",
        "fit (split, aggregation, weighting) holds this package's defaults for refits in `lists evaluate`; "
        "Google fitted the list on TaskSet's own tasks and curves (10,000 steps), which this package does not ship",
    ],
}
NAME_MAP = {"learning_rate": "lr", "beta1": "beta1", "beta2": "beta2", "epsilon": "eps",
            "use_nesterov": "nesterov", "adamw_weight_decay": "adamw_weight_decay",
            "l2_weight_decay": "l2_weight_decay", "warmup_fraction": "warmup_fraction",
            "min_learning_rate_mult": "min_lr_mult", "constant_fraction": "constant_fraction"}


def to_nadamw_tf1(published: dict) -> dict[str, float]:
    """A published config as `nadamw_tf1` hparams, with nesterov 0 (what TaskSet's getter ran)."""
    hparams = {NAME_MAP[k]: float(v) for k, v in published.items()}
    hparams["nesterov"] = 0.0
    return hparams


def build():
    """The list artifact (an `HparamList`) of the published order and configs."""
    from hparam_lists.artifact import FitSettings, HparamList, ListEntry

    entries = []
    for seed in PUBLISHED_ORDER:
        published = taskset_nadamw_grid(seed)
        entries.append(ListEntry(family="nadamw_tf1", optimizer=f"{NADAMW_GRID_PREFIX}{seed}",
                                 hparams=to_nadamw_tf1(published), source_hparams=published))
    fit = FitSettings(family="nadamw_tf1", size=len(entries), split="valid_inner", aggregation="final",
                      train_tasks=(), pool_size=len(entries))
    return HparamList(entries=tuple(entries), fit=fit, dataset="taskset-original", source=SOURCE)


def render() -> str:
    from hparam_lists.artifact import validate

    hparam_list = build()
    validate(hparam_list, "opt-list-nadamw")
    return json.dumps(hparam_list.to_json(), indent=1, sort_keys=True) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="make_opt_list", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped file instead of writing")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        same = OUT.is_file() and OUT.read_text() == text
        print(f"{OUT}: {'up to date' if same else 'differs'}")
        return 0 if same else 1
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(PUBLISHED_ORDER)} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
