import sys

from carp import cli

sys.exit(cli.main())
