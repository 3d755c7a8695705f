*** Variables ***
${UART}                       sysbus.uart0

*** Test Cases ***
Should Set Up A Machine From Monitor Lines
    Execute Command           mach create "server"
    Execute Command           machine LoadPlatformDescription @platforms/boards/stm32f4_discovery-kit.repl
    Execute Command           sysbus LoadELF @${FIRMWARE}/hello.elf
    Execute Command           showAnalyzer ${UART}
    Create Terminal Tester    ${UART}    machine=server
    Start Emulation
    Wait For Line On Uart     Hello from vboard
    Wait For Line On Uart     hello: done

Should Run For A Virtual Time
    Execute Command           mach create
    Execute Command           machine LoadPlatformDescription @platforms/boards/stm32f4_discovery-kit.repl
    Execute Command           sysbus LoadELF @${FIRMWARE}/demo.elf
    Create Terminal Tester    ${UART}
    Execute Command           emulation RunFor "0.25"
    ${t}=                     Get Virtual Time
    Should Be True            0.25 <= ${t} < 0.2505
    Wait For Line On Uart     tick 2/5    timeout=0
    Run Keyword And Expect Error    *timeout*    Wait For Line On Uart    tick 3/5    timeout=0
    Execute Command           emulation RunFor "00:00:00.1"
    Wait For Line On Uart     tick 3/5    timeout=0

Start And Pause Should Control The Emulation
    Execute Command           mach create
    Execute Command           sysbus LoadELF @${FIRMWARE}/shell.elf
    Create Terminal Tester    ${UART}
    Execute Command           start
    Wait For Prompt On Uart   shell>
    Execute Command           pause
    ${t0}=                    Get Virtual Time
    ${t1}=                    Get Virtual Time
    Should Be Equal           ${t0}    ${t1}

Machine Reset Should Boot Again
    Execute Command           mach create
    Execute Command           sysbus LoadELF @${FIRMWARE}/shell.elf
    Create Terminal Tester    ${UART}
    Wait For Prompt On Uart   shell>
    Execute Command           machine Reset
    Wait For Line On Uart     shell: booting

Should Load A Board Script With Its Binary
    Execute Command           set bin @${FIRMWARE}/hello.elf
    Execute Command           include @scripts/single-node/stm32f746.resc
    Create Terminal Tester    ${UART}
    Wait For Line On Uart     hello: done

Should Connect Two Machines Through A Switch
    Execute Command           emulation SetGlobalQuantum "0.00025"
    Execute Command           emulation SetGlobalSerialExecution true
    Execute Command           emulation CreateSwitch "switch"
    Execute Command           mach create "server"
    Execute Command           machine LoadPlatformDescription @platforms/boards/stm32f4_discovery-kit.repl
    Execute Command           sysbus LoadELF @${FIRMWARE}/rawframe.elf
    Execute Command           connector Connect sysbus.ethernet switch
    Execute Command           mach create "client"
    Execute Command           machine LoadPlatformDescription @platforms/boards/stm32f4_discovery-kit.repl
    Execute Command           sysbus LoadELF @${FIRMWARE}/rawping.elf
    Execute Command           connector Connect sysbus.ethernet switch
    ${client}=                Create Terminal Tester    ${UART}    machine=client
    Wait For Line On Uart     50 of 50 echoed    timeout=20    testerId=${client}

An Unsupported Command Should Fail Naming It
    Execute Command           mach create
    Run Keyword And Expect Error    *'sysbus.cpu PerformanceInMips 50' is not supported*
    ...                       Execute Command    sysbus.cpu PerformanceInMips 50
    Run Keyword And Expect Error    *'emulation CreateTap "tap0" "tap"' is not supported*
    ...                       Execute Command    emulation CreateTap "tap0" "tap"

A Missing Firmware Should Fail Naming The File
    Execute Command           mach create
    Run Keyword And Expect Error    *no file no-such.elf*
    ...                       Execute Command    sysbus LoadELF @no-such.elf
