// The `testbed` executable: everything it does lives in TestbedCommands.
import TestbedCommands

await Testbed.start()
