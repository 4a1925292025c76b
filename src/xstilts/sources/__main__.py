from xstilts.sources.cli import main

raise SystemExit(main())
