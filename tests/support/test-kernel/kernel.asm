; Loopback Studio test kernel: the smallest multiboot v1 kernel that proves a boot worked.
; It prints one line to COM1 (0x3F8) and to QEMU's debug console (port 0xE9), asks QEMU's
; isa-debug-exit device (port 0xF4, when present) to quit, and halts otherwise.
; Build: nasm -f elf32 kernel.asm -o kernel.o && ld -m elf_i386 -n -Ttext 0x100000 -o kernel.elf kernel.o
; -DMESSAGE="'text'" prints another line; -DPAD_BYTES=N adds N bytes of data (a kernel of a given size).
bits 32

%ifndef MESSAGE
%define MESSAGE 'Loopback Studio test kernel: hello from multiboot'
%endif

; Multiboot Specification 0.6.96, 3.1.1: magic, flags, checksum (the three sum to 0), 4-byte
; aligned within the first 8 KiB. Flags 0: an ELF file needs no address fields, no boot info wanted.
MULTIBOOT_MAGIC equ 0x1BADB002
MULTIBOOT_FLAGS equ 0

COM1     equ 0x3F8              ; 16550 UART: +0 THR, +5 line status register (LSR)
LSR_THRE equ 0x20               ; LSR bit 5: the transmit holding register is empty
DEBUGCON equ 0xE9               ; QEMU -debugcon / Bochs port E9 hack
DEBUG_EXIT equ 0xF4             ; -device isa-debug-exit,iobase=0xf4: QEMU exits with (value << 1) | 1
EXIT_VALUE equ 0x10             ; so QEMU's exit status is 33

section .text
align 4
    dd MULTIBOOT_MAGIC, MULTIBOOT_FLAGS, -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

global _start
_start:
    cli
    mov esi, message
.next_char:
    mov bl, [esi]
    test bl, bl
    jz .done
    inc esi
    mov dx, COM1 + 5
.wait_uart:
    in al, dx
    test al, LSR_THRE
    jz .wait_uart
    mov al, bl
    mov dx, COM1
    out dx, al
    out DEBUGCON, al
    jmp .next_char
.done:
    mov al, EXIT_VALUE
    out DEBUG_EXIT, al
.halt:
    hlt
    jmp .halt

message: db MESSAGE, 13, 10, 0

%ifdef PAD_BYTES
section .data
padding: times PAD_BYTES db 0x5a
%endif
