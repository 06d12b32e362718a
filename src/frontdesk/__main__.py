from frontdesk.cli.main import main

raise SystemExit(main())
