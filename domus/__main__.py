from domus.cli import main

main()
