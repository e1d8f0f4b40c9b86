from labelaudit.cli.app import main

main()
