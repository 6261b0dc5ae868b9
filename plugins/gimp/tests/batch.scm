; Drives the plug-in's four procedures in GIMP's batch mode, as a scripted pipeline would.
; plugins/gimp/tests/run defines `out` (a folder) before loading this file, then checks what
; it writes there: layers exported as PNG, histories and plans as text, facts as lines.

(define prompt "a red circle to the left of a blue square")

(define (path name) (string-append out "/" name))
(define (save-text name text)
  (call-with-output-file (path name) (lambda (port) (display text port))))
(define facts '())
(define (fact . words)  ; one line of facts.txt: words separated by spaces
  (set! facts (cons (unbreakupstr (map (lambda (w) (if (number? w) (number->string w) w)) words) " ") facts)))
(define (export image drawable name)
  (file-png-save-defaults RUN-NONINTERACTIVE image drawable (path name) (path name)))
(define (history layer) (caddr (car (gimp-item-get-parasite layer "ponder-history"))))
(define (layer-facts label layer)
  (let ((offsets (gimp-drawable-offsets layer)))
    (fact label "size" (car (gimp-drawable-width layer)) (car (gimp-drawable-height layer))
          "offset" (car offsets) (cadr offsets))
    (save-text (string-append label "-name.txt") (car (gimp-item-get-name layer)))))
(define (layer-count image) (car (gimp-image-get-layers image)))
(define (new-image w h)  ; an RGB image with a white layer, as a user starts one
  (let* ((image (car (gimp-image-new w h RGB)))
         (layer (car (gimp-layer-new image w h RGB-IMAGE "Background" 100 LAYER-MODE-NORMAL))))
    (gimp-image-insert-layer image layer 0 0)
    (gimp-drawable-fill layer FILL-WHITE)
    (list image layer)))
; A call that must fail: records whether it raised; its message goes to GIMP's log.
(define (refused label thunk)
  (fact label (if (pair? (catch 'raised (thunk))) "accepted" "refused")))

; Generate into an open 128 x 128 image, describe it, redraw a selection, add an element.
(define start (new-image 128 128))
(define image (car start))
(define background (cadr start))
(define base (cadr (plug-in-ponder-generate RUN-NONINTERACTIVE image background prompt 4 TRUE -1 3)))
(fact "generate-layers" (layer-count image))
(layer-facts "base" base)
(export image base "base.png")
(export image background "background-before.png")
(save-text "base-history.txt" (history base))
(save-text "describe.txt" (car (plug-in-ponder-describe RUN-NONINTERACTIVE image base)))

(gimp-image-select-rectangle image CHANNEL-OP-REPLACE 80 40 46 50)
(define star (car (plug-in-ponder-redraw-selection RUN-NONINTERACTIVE image base "a small yellow star" 1 -1 3)))
(gimp-selection-none image)
(layer-facts "star" star)
(export image star "star.png")
(save-text "star-history.txt" (history star))

; A selection that cuts the blue square: the library removes the whole square (its centre is
; inside), but only the selected part of the layer changes.
(gimp-image-select-rectangle image CHANNEL-OP-REPLACE 66 0 34 30)
(define cut (car (plug-in-ponder-redraw-selection RUN-NONINTERACTIVE image base "" 1 -1 3)))
(gimp-selection-none image)
(export image cut "cut.png")
(gimp-image-remove-layer image cut)

(define added (car (plug-in-ponder-add-element RUN-NONINTERACTIVE image star "a small pink heart below the blue square" 1 -1 3)))
(layer-facts "added" added)
(export image added "added.png")
(save-text "added-history.txt" (history added))
(fact "edit-layers" (layer-count image))
(export image base "base-after.png")
(export image star "star-after.png")
(export image background "background-after.png")

; Errors: each is refused with the library's message, and leaves no layer behind.
(refused "bad-prompt" (lambda () (plug-in-ponder-generate RUN-NONINTERACTIVE image background "a red circel" 4 TRUE -1 3)))
(refused "empty-prompt" (lambda () (plug-in-ponder-generate RUN-NONINTERACTIVE image background "  " 4 TRUE -1 3)))
(refused "bad-seed" (lambda () (plug-in-ponder-generate RUN-NONINTERACTIVE image background prompt -5 TRUE -1 3)))
(refused "bad-check" (lambda () (plug-in-ponder-generate RUN-NONINTERACTIVE image background prompt 4 TRUE -1 99)))
(refused "no-selection" (lambda () (plug-in-ponder-redraw-selection RUN-NONINTERACTIVE image base "a small red star" 1 -1 3)))
(refused "no-such-object" (lambda () (plug-in-ponder-add-element RUN-NONINTERACTIVE image star "a red star to the right of the brown heart" 1 -1 3)))
(refused "two-objects" (lambda () (plug-in-ponder-add-element RUN-NONINTERACTIVE image star "two red stars" 1 -1 3)))
(refused "long-prompt" (lambda () (plug-in-ponder-generate RUN-NONINTERACTIVE image background (make-string 3000 #\a) 4 TRUE -1 3)))
(fact "error-layers" (layer-count image))

; A grayscale image: Ponder draws in colour, so it refuses to draw there, but reads it.
(define gray (car (gimp-image-new 128 128 GRAY)))
(define gray-layer (car (gimp-layer-new-from-drawable base gray)))
(gimp-image-insert-layer gray gray-layer 0 0)
(refused "gray-image" (lambda () (plug-in-ponder-generate RUN-NONINTERACTIVE gray gray-layer prompt 4 TRUE -1 3)))
(save-text "gray-describe.txt" (car (plug-in-ponder-describe RUN-NONINTERACTIVE gray gray-layer)))

; No image open: a new 128 x 128 image.
(define fresh (plug-in-ponder-generate RUN-NONINTERACTIVE -1 -1 prompt 4 TRUE -1 3))
(fact "fresh-image" (car (gimp-image-width (car fresh))) (car (gimp-image-height (car fresh)))
      "layers" (layer-count (car fresh)))
(export (car fresh) (cadr fresh) "fresh.png")
; File > Create's Generate, for when no image is open: its own new image, the same picture.
(define created (plug-in-ponder-generate-image RUN-NONINTERACTIVE prompt 4 TRUE -1 3))
(fact "created-image" (car (gimp-image-width (car created))) (car (gimp-image-height (car created)))
      "layers" (layer-count (car created)))
(export (car created) (cadr created) "created.png")
(save-text "created-history.txt" (history (cadr created)))
(gimp-image-delete (car created))
(refused "created-bad-prompt" (lambda () (plug-in-ponder-generate-image RUN-NONINTERACTIVE "a red circel" 4 TRUE -1 3)))
(refused "created-long-prompt" (lambda () (plug-in-ponder-generate-image RUN-NONINTERACTIVE (make-string 3000 #\a) 4 TRUE -1 3)))

; A prompt no plan can satisfy: drawn all the same, with a warning, and the history says so.
(define crowded (plug-in-ponder-generate RUN-NONINTERACTIVE -1 -1 "two large circles in the top left corner" 1 TRUE -1 3))
(save-text "crowded-history.txt" (history (cadr crowded)))
(gimp-image-delete (car crowded))

; Another size: a 256 x 192 image gets a centred 192 x 192 layer; edits keep its size.
(define wide (car (new-image 256 192)))
(define big (cadr (plug-in-ponder-generate RUN-NONINTERACTIVE wide -1 prompt 4 TRUE -1 3)))
(layer-facts "big" big)
(gimp-image-select-rectangle wide CHANNEL-OP-REPLACE 0 0 20 20)  ; left of the layer
(refused "selection-off-layer" (lambda () (plug-in-ponder-redraw-selection RUN-NONINTERACTIVE wide big "" 1 -1 3)))
(export wide big "big.png")
(save-text "big-describe.txt" (car (plug-in-ponder-describe RUN-NONINTERACTIVE wide big)))
(define big-added (car (plug-in-ponder-add-element RUN-NONINTERACTIVE wide big "a small green star above the red circle" 2 -1 3)))
(layer-facts "big-added" big-added)
(export wide big-added "big-added.png")
(gimp-image-select-rectangle wide CHANNEL-OP-REPLACE 32 128 62 64)  ; the big layer's lower left, cutting the red circle
(define big-cleared (car (plug-in-ponder-redraw-selection RUN-NONINTERACTIVE wide big "" 1 -1 3)))
(gimp-selection-none wide)
(layer-facts "big-cleared" big-cleared)
(export wide big-cleared "big-cleared.png")
(export wide big "big-after.png")

(save-text "facts.txt" (unbreakupstr (reverse facts) "\n"))
(gimp-image-delete image)
(gimp-image-delete (car fresh))
(gimp-image-delete wide)
(gimp-image-delete gray)
