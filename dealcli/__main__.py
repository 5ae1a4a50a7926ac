from dealcli.cli import main

main()
